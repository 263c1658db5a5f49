/* SPDX-License-Identifier: MIT */
/*
 * khien-loadgen's device identities: keys and certificates issued
 * in-process by the instance's device CA, cached in --identities FILE
 * (tagged with the CA, so a new instance issues new ones), and one TLS
 * client configuration per device.
 */
#include "tests/bench/loadgen.h"

/* ---------------------------------------------------------------- identities */

/*
 * The cache file: a magic line, the SHA-256 of the instance's device CA
 * certificate (identities of another instance are useless), then per
 * device "SERIAL KEYLEN CERTLEN\n" followed by the two PEM texts.
 */
static void ca_tag(const char *dir, char hex[65])
{
	char p[KH_SRV_PATH_MAX + 32];
	uint8_t *buf = NULL, h[32];
	size_t len;

	snprintf(p, sizeof(p), "%s/device-ca.pem", dir);
	if (kh_fs_read(p, 1 << 20, &buf, &len) < 0) {
		hex[0] = 0;
		return;
	}
	kh_sha256(buf, len, h);
	kh_hex_encode(h, 32, hex);
	free(buf);
}

static char *dup_n(const char *p, size_t n)
{
	char *t = malloc(n + 1);

	if (t) {
		memcpy(t, p, n);
		t[n] = 0;
	}
	return t;
}

/* Load what the cache has for devices 0..ndevs-1 in order; returns how many. */
static unsigned ids_load(struct lg *g, const char *tag)
{
	uint8_t *buf = NULL;
	const char *p, *end;
	size_t len, n;
	unsigned got = 0;
	char want[64];

	if (!g->o.ids || kh_fs_read(g->o.ids, (size_t)1 << 31, &buf, &len) < 0)
		return 0;
	p = (const char *)buf;
	end = p + len;
	n = strlen(IDS_MAGIC);
	if (len < n + 66 || memcmp(p, IDS_MAGIC "\n", n + 1) != 0 ||
	    memcmp(p + n + 1, tag, 64) != 0 || p[n + 65] != '\n') {
		say(g, "%s: made for another instance (or not a cache): ignored", g->o.ids);
		free(buf);
		return 0;
	}
	p += n + 66;
	while (got < g->ndevs && p < end) {
		char serial[KH_SERIAL_MAX + 1];
		unsigned long kl, cl;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || sscanf(p, "%64s %lu %lu", serial, &kl, &cl) != 3 || kl > 16384 ||
		    cl > 16384 || (size_t)(end - nl - 1) < kl + cl)
			break;
		snprintf(want, sizeof(want), "%s-%06u", g->o.prefix, got);
		if (strcmp(serial, want) != 0)
			break; /* another prefix or order: provision from here on */
		p = nl + 1;
		g->devs[got].key_pem = dup_n(p, kl);
		g->devs[got].cert_pem = dup_n(p + kl, cl);
		if (!g->devs[got].key_pem || !g->devs[got].cert_pem)
			break;
		g->devs[got].key_len = kl;
		g->devs[got].cert_len = cl;
		p += kl + cl;
		got++;
	}
	kh_memzero(buf, len);
	free(buf);
	return got;
}

static int ids_save(struct lg *g, const char *tag)
{
	size_t cap = strlen(IDS_MAGIC) + 70, len = 0;
	char *buf, *q;
	int err;

	for (unsigned i = 0; i < g->ndevs; i++)
		cap += KH_SERIAL_MAX + 48 + g->devs[i].key_len + g->devs[i].cert_len;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	len = (size_t)snprintf(buf, cap, "%s\n%s\n", IDS_MAGIC, tag);
	for (unsigned i = 0; i < g->ndevs; i++) {
		struct dev *d = &g->devs[i];
		len += (size_t)snprintf(buf + len, cap - len, "%s %zu %zu\n", d->serial, d->key_len,
					d->cert_len);
		q = buf + len;
		memcpy(q, d->key_pem, d->key_len);
		memcpy(q + d->key_len, d->cert_pem, d->cert_len);
		len += d->key_len + d->cert_len;
	}
	err = kh_fs_write_atomic(g->o.ids, buf, len, 0600);
	kh_memzero(buf, len);
	free(buf);
	return err;
}

/*
 * Identities for all devices: from the cache where it has them, otherwise
 * issued now in this process (KH_PROV_FORCE re-keys a serial the store
 * already knows, since its old key is not at hand).
 */
int ids_prepare(struct lg *g, struct kh_srv *s)
{
	char tag[65], why[256];
	unsigned have, i;
	uint64_t t0 = now_ns(), last = t0;

	ca_tag(g->o.dir, tag);
	if (!tag[0]) {
		fprintf(stderr, "khien-loadgen: %s/device-ca.pem unreadable\n", g->o.dir);
		return -ENOENT;
	}
	for (i = 0; i < g->ndevs; i++)
		snprintf(g->devs[i].serial, sizeof(g->devs[i].serial), "%s-%06u", g->o.prefix, i);
	have = ids_load(g, tag);
	if (have == g->ndevs) {
		say(g, "identities: %u from %s", have, g->o.ids);
		return 0;
	}
	say(g, "identities: %u cached, provisioning %u...", have, g->ndevs - have);
	for (i = have; i < g->ndevs; i++) {
		struct kh_provisioned p = {0};
		struct dev *d = &g->devs[i];
		int err = kh_srv_provision(s, d->serial, "loadgen", KH_PROV_FORCE, 0, NULL, &p, why,
					   sizeof(why));
		if (err < 0) {
			fprintf(stderr, "khien-loadgen: provision %s: %s\n", d->serial, why);
			return err;
		}
		d->key_len = strlen(p.key_pem);
		d->cert_len = strlen(p.cert_pem);
		d->key_pem = dup_n(p.key_pem, d->key_len);
		d->cert_pem = dup_n(p.cert_pem, d->cert_len);
		kh_srv_provisioned_free(&p);
		if (!d->key_pem || !d->cert_pem)
			return -ENOMEM;
		if (now_ns() - last >= 1000000000ull) {
			last = now_ns();
			say(g, "provisioned %u/%u (%.0f/s)", i + 1 - have, g->ndevs - have,
			    (i + 1 - have) / ((double)(last - t0) / 1e9));
		}
	}
	say(g, "provisioned %u identities in %.1f s", g->ndevs - have,
	    (double)(now_ns() - t0) / 1e9);
	if (g->o.ids) {
		int err = ids_save(g, tag);
		if (err < 0)
			fprintf(stderr, "khien-loadgen: %s: %s (continuing)\n", g->o.ids,
				kh_strerror(err));
	}
	return 0;
}

/* One client TLS configuration per device: each presents its own certificate. */
int confs_prepare(struct lg *g, unsigned n)
{
	uint64_t t0 = now_ns(), last = t0;
	char why[200];

	for (unsigned i = 0; i < n; i++) {
		struct dev *d = &g->devs[i];
		struct kh_tls_conf_opts o = {KH_TLS_CLIENT, g->ca_pem,	 g->ca_len,
					     d->cert_pem,   d->cert_len, d->key_pem,
					     d->key_len,    1,		 0};
		int err = kh_tls_conf_new(&o, &d->conf, why, sizeof(why));
		if (err < 0) {
			fprintf(stderr, "khien-loadgen: %s: TLS configuration: %s\n", d->serial,
				why);
			return err;
		}
		if (now_ns() - last >= 1000000000ull) {
			last = now_ns();
			say(g, "TLS contexts %u/%u", i + 1, n);
		}
	}
	say(g, "TLS contexts for %u devices in %.1f s", n, (double)(now_ns() - t0) / 1e9);
	return 0;
}
