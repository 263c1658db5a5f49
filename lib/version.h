/* SPDX-License-Identifier: MIT */
/* The release version, reported by every program and in check-ins. */
#ifndef KHIEN_LIB_VERSION_H
#define KHIEN_LIB_VERSION_H

#define KHIEN_VERSION "0.2.0"

#endif
