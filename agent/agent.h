/* SPDX-License-Identifier: MIT */
/*
 * khiend's entry point, separate from main() so that a platform can bring
 * its network stack up first: on Linux main() is just this call
 * (agent/khiend_main.c); the lwIP host harness starts lwIP and its tap
 * interface, then calls it (platform/lwip/host/main.c).
 */
#ifndef KHIEN_AGENT_AGENT_H
#define KHIEN_AGENT_AGENT_H

/* Run khiend with its command line; returns its exit status. */
int kh_agent_main(int argc, char **argv);

#endif
