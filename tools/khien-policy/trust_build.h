/* SPDX-License-Identifier: MIT */
/*
 * ISP side of signed policy: creating roots, adding signatures, assembling
 * and signing bundles (format in docs/POLICY.md). Devices only verify
 * (policy/trust.h).
 */
#ifndef KHIEN_POLICY_TRUST_BUILD_H
#define KHIEN_POLICY_TRUST_BUILD_H

#include "policy/trust.h"

struct kh_bundle_input {
	const char *name;
	const uint8_t *data;
	size_t len;
};

struct kh_bundle_spec {
	uint64_t version;
	uint64_t epoch;	   /* 0: not written (before any reset) */
	uint64_t replaces; /* reset only: the version it replaces */
	int64_t expires, created;
	int reset;
	const char *const *targets;
	unsigned ntargets;
	const struct kh_bundle_input *comp;
	unsigned ncomp;
	const struct kh_ecdsa_priv *keys; /* signing keys, with their public halves */
	const struct kh_pubkey *pubs;
	unsigned nkeys;
	const char *unsafe_extra; /* tests only: "name=json" added to the manifest */
};

/* Assemble and sign a bundle into a new heap buffer. 0 or negative errno. */
int kh_bundle_build(const struct kh_bundle_spec *spec, uint8_t **out, size_t *len);

/* New unsigned root document (pretty JSON text in a heap buffer). */
int kh_root_create(uint64_t version, int64_t expires, const struct kh_pubkey *root_keys,
		   unsigned nroot, unsigned root_threshold, const struct kh_pubkey *policy_keys,
		   unsigned npolicy, unsigned policy_threshold, char **out);

/* The same with a firmware role (nfw keys, fw_threshold of them); nfw 0: none. */
int kh_root_create_fw(uint64_t version, int64_t expires, const struct kh_pubkey *root_keys,
		      unsigned nroot, unsigned root_threshold, const struct kh_pubkey *policy_keys,
		      unsigned npolicy, unsigned policy_threshold, const struct kh_pubkey *fw_keys,
		      unsigned nfw, unsigned fw_threshold, char **out);

/*
 * Add (or replace) the signature of key over a root document; *text is
 * replaced by the new document. 0, or -EBADMSG with why.
 */
int kh_root_add_signature(char **text, const struct kh_ecdsa_priv *priv,
			  const struct kh_pubkey *pub, struct kh_drbg *rng, const char **why);

/* Key files (JSON) for a key pair: heap strings. */
int kh_key_files(const struct kh_ecdsa_priv *priv, const struct kh_pubkey *pub, char **priv_json,
		 char **pub_json);

#endif
