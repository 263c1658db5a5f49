/* SPDX-License-Identifier: MIT */
/*
 * A khien-server instance without a directory, for the API's fuzz harness
 * and unit test: configuration with the given operator token and event
 * quota, the fixture trust root, a store at db_path (":memory:" or a
 * file), and policy version 7 assigned to group "home". Callers register
 * their own devices.
 */
#ifndef KHIEN_TESTS_FUZZ_SERVER_FIXTURE_H
#define KHIEN_TESTS_FUZZ_SERVER_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "server/server.h"
#include "tests/fuzz/root_fixture.h"

static inline int kh_test_srv_open(struct kh_srv *srv, const char *db_path, const char *token,
				   uint32_t quota_events, char *why, size_t whylen)
{
	struct kh_policy_rec p = {.version = 7, .size = 100};

	memset(srv, 0, sizeof(*srv));
	snprintf(srv->dir, sizeof(srv->dir), "/nonexistent-khien-test");
	srv->cfg.interval_s = 300;
	srv->cfg.quota.window_s = 3600;
	srv->cfg.quota.events = quota_events;
	srv->cfg.quota.bytes = 1u << 20;
	kh_sha256(token, strlen(token), srv->cfg.operator_token_sha256);
	if (kh_root_verify_self(root_json, strlen(root_json), &srv->root, why, whylen) < 0 ||
	    kh_store_open(db_path, &srv->store, why, whylen) < 0)
		return -1;
	snprintf(p.sha256_hex, sizeof(p.sha256_hex), "%064d", 0);
	snprintf(p.path, sizeof(p.path), "bundles/7.bundle");
	kh_store_policy_add(srv->store, &p);
	kh_store_assign(srv->store, "home", 7, 1000);
	return 0;
}

#endif
