/* SPDX-License-Identifier: MIT */
/*
 * khien-server instance management (server.h): init creates the
 * directory with its CAs, server certificate, operator token, store and
 * trust root; open loads it; provision issues a device identity; publish
 * verifies a signed bundle against the trust root before storing and
 * assigning it. The command line and the operator API both come here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crypto/crypto.h"
#include "crypto/pki.h"
#include "lib/err.h"
#include "lib/jsonnum.h"
#include "lib/hex.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/rand.h"
#include "platform/time.h"
#include "server/render.h"
#include "tools/khien-policy/trust_build.h"
#include "server/server.h"

#define DAY 86400
#define TEXT_MAX (256 * 1024)

#define progress(...)                              \
	do {                                       \
		fprintf(stderr, "khien-server: "); \
		fprintf(stderr, __VA_ARGS__);      \
		fputc('\n', stderr);               \
	} while (0)

static int path_of(char *buf, size_t cap, const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);

	if (d + 1 + n >= cap)
		return -ENAMETOOLONG;
	memcpy(buf, dir, d);
	buf[d] = '/';
	memcpy(buf + d + 1, name, n + 1);
	return 0;
}

static int write_text(const char *dir, const char *name, const char *text, unsigned mode)
{
	char p[KH_SRV_PATH_MAX + 64];
	int err = path_of(p, sizeof(p), dir, name);

	return err ? err : kh_fs_write_atomic(p, text, strlen(text), mode);
}

static int read_text(const char *dir, const char *name, char **out, size_t *len)
{
	char p[KH_SRV_PATH_MAX + 64];
	int err = path_of(p, sizeof(p), dir, name);

	return err ? err : kh_fs_read(p, TEXT_MAX, (uint8_t **)out, len);
}

/* ---------------------------------------------------------------- configuration */

/* Every number's default, for init and for keys an older server.json lacks. */
static void config_defaults(struct kh_srv_config *c)
{
	c->interval_s = 300;
	c->max_conns = 20000;
	c->max_conns_per_device = 4;
	c->idle_timeout_ms = 10000;
	c->ticket_lifetime_s = DAY;
	c->ticket_key_rotate_s = DAY;
	c->device_cert_days = 3650;
	c->max_requests = 1000;
	c->rollout_check_s = 60;
	c->quota.window_s = 3600;
	c->quota.events = 10000;
	c->quota.bytes = 8u << 20;
}

static char *config_text(const struct kh_srv_config *c)
{
	cJSON *o = cJSON_CreateObject();
	char fp[65], *t;

	kh_hex_encode(c->operator_token_sha256, 32, fp);
	cJSON_AddStringToObject(o, "url", c->url);
	cJSON_AddStringToObject(o, "listen", c->listen);
	cJSON_AddNumberToObject(o, "interval_s", c->interval_s);
	cJSON_AddNumberToObject(o, "max_connections", c->max_conns);
	cJSON_AddNumberToObject(o, "max_connections_per_device", c->max_conns_per_device);
	cJSON_AddNumberToObject(o, "idle_timeout_ms", c->idle_timeout_ms);
	cJSON_AddNumberToObject(o, "ticket_lifetime_s", c->ticket_lifetime_s);
	cJSON_AddNumberToObject(o, "ticket_key_rotate_s", c->ticket_key_rotate_s);
	cJSON_AddNumberToObject(o, "device_cert_days", c->device_cert_days);
	cJSON_AddNumberToObject(o, "max_requests_per_connection", c->max_requests);
	cJSON_AddNumberToObject(o, "rollout_check_s", c->rollout_check_s);
	cJSON_AddNumberToObject(o, "event_quota_window_s", c->quota.window_s);
	cJSON_AddNumberToObject(o, "event_quota_events", c->quota.events);
	cJSON_AddNumberToObject(o, "event_quota_bytes", c->quota.bytes);
	cJSON_AddStringToObject(o, "operator_token_sha256", fp);
	if (c->database[0])
		cJSON_AddStringToObject(o, "database", c->database);
	if (c->database_password_file[0])
		cJSON_AddStringToObject(o, "database_password_file", c->database_password_file);
	t = cJSON_Print(o);
	cJSON_Delete(o);
	return t;
}

static int config_parse(const char *text, size_t len, struct kh_srv_config *c, char *why,
			size_t whylen)
{
	static const struct {
		const char *key;
		uint32_t lo, hi;
		size_t off;
	} nums[] = {
		{"interval_s", 10, 86400, offsetof(struct kh_srv_config, interval_s)},
		{"max_connections", 16, 1000000, offsetof(struct kh_srv_config, max_conns)},
		{"max_connections_per_device", 1, KH_SRV_CONNS_PER_DEVICE_MAX,
		 offsetof(struct kh_srv_config, max_conns_per_device)},
		{"idle_timeout_ms", 100, 600000, offsetof(struct kh_srv_config, idle_timeout_ms)},
		{"ticket_lifetime_s", 0, 7 * DAY,
		 offsetof(struct kh_srv_config, ticket_lifetime_s)},
		{"ticket_key_rotate_s", 2, 7 * DAY,
		 offsetof(struct kh_srv_config, ticket_key_rotate_s)},
		{"device_cert_days", 1, 36500, offsetof(struct kh_srv_config, device_cert_days)},
		{"max_requests_per_connection", 1, 1000000,
		 offsetof(struct kh_srv_config, max_requests)},
		{"rollout_check_s", 1, 3600, offsetof(struct kh_srv_config, rollout_check_s)},
		{"event_quota_window_s", 60, DAY, offsetof(struct kh_srv_config, quota.window_s)},
		{"event_quota_events", 1, 100000000, offsetof(struct kh_srv_config, quota.events)},
		{"event_quota_bytes", 65536, UINT32_MAX,
		 offsetof(struct kh_srv_config, quota.bytes)},
	};
	cJSON *o = cJSON_ParseWithLength(text, len), *v;
	int rc = -EINVAL;

	memset(c, 0, sizeof(*c));
	config_defaults(c);
	if (!cJSON_IsObject(o)) {
		snprintf(why, whylen, "server.json: not a JSON object");
		goto out;
	}
	cJSON_ArrayForEach (v, o) {
		unsigned i;
		if (strcmp(v->string, "url") == 0 && cJSON_IsString(v)) {
			kh_strlcpy(c->url, v->valuestring, sizeof(c->url));
			continue;
		}
		if (strcmp(v->string, "listen") == 0 && cJSON_IsString(v)) {
			kh_strlcpy(c->listen, v->valuestring, sizeof(c->listen));
			continue;
		}
		if (strcmp(v->string, "database") == 0 && cJSON_IsString(v) &&
		    strlen(v->valuestring) < sizeof(c->database)) {
			kh_strlcpy(c->database, v->valuestring, sizeof(c->database));
			continue;
		}
		if (strcmp(v->string, "database_password_file") == 0 && cJSON_IsString(v) &&
		    strlen(v->valuestring) < sizeof(c->database_password_file)) {
			kh_strlcpy(c->database_password_file, v->valuestring,
				   sizeof(c->database_password_file));
			continue;
		}
		if (strcmp(v->string, "operator_token_sha256") == 0 && cJSON_IsString(v) &&
		    strlen(v->valuestring) == 64 &&
		    kh_hex_decode(v->valuestring, c->operator_token_sha256, 32) == 0)
			continue;
		uint64_t u;
		for (i = 0; i < KH_ARRAY_SIZE(nums); i++)
			if (strcmp(v->string, nums[i].key) == 0)
				break;
		if (i == KH_ARRAY_SIZE(nums) || kh_json_uint(v, nums[i].lo, nums[i].hi, &u) < 0) {
			snprintf(why, whylen,
				 "server.json: %s: unknown key, or not a whole number in range "
				 "(or a text too long)",
				 v->string);
			goto out;
		}
		*(uint32_t *)(void *)((char *)c + nums[i].off) = (uint32_t)u;
	}
	if (kh_http_parse_url(c->url, c->host, sizeof(c->host), &c->port) < 0) {
		snprintf(why, whylen, "server.json: url: expected https://HOST:PORT");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

/* ---------------------------------------------------------------- store */

#define DB_PASSWORD_MAX 1024

/*
 * The instance's store: the configured database (its password read from
 * database_password_file, one line), else DIR/khien.db. A password never
 * comes from the command line or server.json itself.
 */
static int open_store(const char *dir, const struct kh_srv_config *c, struct kh_store **st,
		      char *why, size_t whylen)
{
	char p[KH_SRV_PATH_MAX + 64], *pw = NULL;
	size_t len;
	int err;

	if (!c->database[0]) {
		path_of(p, sizeof(p), dir, "khien.db");
		return kh_store_open(p, st, why, whylen);
	}
	if (!kh_store_is_pg(c->database)) {
		snprintf(why, whylen, "database: expected postgresql://USER@/DB?host=SOCKETDIR");
		return -EINVAL;
	}
	if (c->database_password_file[0]) {
		if ((err = kh_fs_read(c->database_password_file, DB_PASSWORD_MAX, (uint8_t **)&pw,
				      &len)) < 0) {
			snprintf(why, whylen, "database_password_file %s: %s",
				 c->database_password_file, kh_strerror(err));
			return err;
		}
		while (len && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
			len--;
		pw[len] = 0;
		if (memchr(pw, 0, len)) {
			snprintf(why, whylen, "database_password_file %s: not one line of text",
				 c->database_password_file);
			kh_memzero(pw, len);
			free(pw);
			return -EINVAL;
		}
	}
	err = kh_store_open_with(c->database, pw, st, why, whylen);
	if (pw) {
		kh_memzero(pw, len);
		free(pw);
	}
	return err;
}

/* ---------------------------------------------------------------- init */

/* A CA (self-signed) or an issued certificate, written as NAME.key and NAME.pem. */
static int make_identity(const char *dir, const char *name, const struct kh_cert_opts *o,
			 const char *ca_key, const char *ca_pem, char *why, size_t whylen)
{
	char *key = NULL, *cert = NULL, file[80];
	int err;

	if ((err = kh_pki_key_new(&key)) < 0) {
		snprintf(why, whylen, "%s: key generation failed: %s", name, kh_strerror(err));
		goto out;
	}
	if ((err = kh_pki_issue(o, key, ca_key, ca_pem, &cert, why, whylen)) < 0)
		goto out;
	snprintf(file, sizeof(file), "%s.key", name);
	if ((err = write_text(dir, file, key, 0600)) < 0)
		goto io;
	snprintf(file, sizeof(file), "%s.pem", name);
	if ((err = write_text(dir, file, cert, 0644)) < 0)
		goto io;
	goto out;
io:
	snprintf(why, whylen, "cannot write %s/%s: %s", dir, file, kh_strerror(err));
out:
	kh_pki_free_secret(key);
	kh_pki_free(cert);
	return err;
}

/* Development trust root: one root key, one policy key, threshold 1. */
static int dev_root(const char *dir, char **root_text, char *why, size_t whylen)
{
	char kdir[KH_SRV_PATH_MAX + 16];
	struct kh_ecdsa_priv priv[2];
	struct kh_pubkey pub[2];
	struct kh_drbg rng;
	const char *names[2] = {"root", "policy"}, *w;
	int err = -EIO, i;

	snprintf(kdir, sizeof(kdir), "%s/dev-keys", dir);
	if ((err = kh_fs_mkdir_p(kdir, 0700)) < 0) {
		snprintf(why, whylen, "cannot create %s: %s", kdir, kh_strerror(err));
		return err;
	}
	if (kh_drbg_init(&rng, "khien-server-dev") < 0) {
		snprintf(why, whylen, "no entropy");
		return -EIO;
	}
	for (i = 0; i < 2; i++) {
		char *kj = NULL, *pj = NULL, file[32];
		if ((err = kh_ecdsa_keygen(&rng, &priv[i], &pub[i].pub)) < 0)
			goto out;
		kh_keyid(&pub[i].pub, pub[i].id);
		if ((err = kh_key_files(&priv[i], &pub[i], &kj, &pj)) == 0) {
			snprintf(file, sizeof(file), "%s.key", names[i]);
			err = write_text(kdir, file, kj, 0600);
			snprintf(file, sizeof(file), "%s.pub", names[i]);
			if (!err)
				err = write_text(kdir, file, pj, 0644);
		}
		if (kj)
			kh_memzero(kj, strlen(kj));
		free(kj);
		free(pj);
		if (err < 0)
			goto out;
	}
	err = kh_root_create(1, kh_time_wall() + 3650LL * DAY, &pub[0], 1, 1, &pub[1], 1, 1,
			     root_text);
	if (err == 0 && (err = kh_root_add_signature(root_text, &priv[0], &pub[0], &rng, &w)) < 0)
		snprintf(why, whylen, "signing the development root: %s", w);
out:
	if (err < 0 && !why[0])
		snprintf(why, whylen, "development keys: %s", kh_strerror(err));
	kh_ecdsa_priv_free(&priv[0]);
	kh_ecdsa_priv_free(&priv[1]);
	kh_drbg_free(&rng);
	return err;
}

int kh_srv_init(const char *dir, const char *url, const char *trust_root,
		const struct kh_srv_store_opts *store, char *why, size_t whylen)
{
	struct kh_srv_config c;
	struct kh_cert_opts o;
	struct kh_store *st = NULL;
	struct kh_root r;
	char p[KH_SRV_PATH_MAX + 64], *t = NULL, *ca_key = NULL, *ca_pem = NULL, tok[65];
	uint8_t raw[32];
	size_t len;
	int64_t now = kh_time_wall();
	int err;

	why[0] = 0;
	memset(&c, 0, sizeof(c));
	if (strlen(dir) > KH_SRV_PATH_MAX - 32) {
		snprintf(why, whylen, "%.200s...: path too long", dir);
		return -ENAMETOOLONG;
	}
	kh_strlcpy(c.url, url ? url : "https://127.0.0.1:8443", sizeof(c.url));
	if (kh_http_parse_url(c.url, c.host, sizeof(c.host), &c.port) < 0) {
		snprintf(why, whylen, "--url %s: expected https://HOST:PORT", c.url);
		return -EINVAL;
	}
	snprintf(c.listen, sizeof(c.listen), strchr(c.host, ':') ? "[%s]:%u" : "%s:%u",
		 c.host[0] >= '0' && c.host[0] <= '9' ? c.host
		 : strchr(c.host, ':')		      ? c.host
						      : "0.0.0.0",
		 c.port);
	config_defaults(&c);
	if (store && store->database) {
		if (strlen(store->database) >= sizeof(c.database) ||
		    !kh_store_is_pg(store->database)) {
			snprintf(why, whylen,
				 "--database: expected postgresql://USER@/DB?host=SOCKETDIR (at "
				 "most "
				 "%zu characters)",
				 sizeof(c.database) - 1);
			return -EINVAL;
		}
		kh_strlcpy(c.database, store->database, sizeof(c.database));
	}
	if (store && store->database_password_file) {
		if (strlen(store->database_password_file) >= sizeof(c.database_password_file)) {
			snprintf(why, whylen, "--database-password-file: path too long");
			return -ENAMETOOLONG;
		}
		kh_strlcpy(c.database_password_file, store->database_password_file,
			   sizeof(c.database_password_file));
	}
	path_of(p, sizeof(p), dir, "server.json");
	if (kh_fs_read(p, TEXT_MAX, (uint8_t **)&t, &len) == 0) {
		free(t);
		snprintf(why, whylen, "%s already holds a server instance", dir);
		return -EEXIST;
	}
	path_of(p, sizeof(p), dir, "bundles");
	if ((err = kh_fs_mkdir_p(p, 0700)) < 0) {
		snprintf(why, whylen, "cannot create %s: %s", p, kh_strerror(err));
		return err;
	}
	/* the trust root first: an unusable one stops everything */
	if (trust_root) {
		if ((err = kh_fs_read(trust_root, KH_ROOT_MAX_BYTES, (uint8_t **)&t, &len)) < 0) {
			snprintf(why, whylen, "--trust-root %s: %s", trust_root, kh_strerror(err));
			return err;
		}
		if ((err = kh_root_verify_self(t, len, &r, why, whylen)) < 0)
			goto out;
		progress("trust root %s accepted (policy keys stay with the security team)",
			 trust_root);
	} else {
		if ((err = dev_root(dir, &t, why, whylen)) < 0)
			goto out;
		fprintf(stderr,
			"khien-server: *** DEVELOPMENT trust root and policy keys created in "
			"%s/dev-keys/ ***\n"
			"khien-server: *** for development and demos only: production "
			"policy keys stay offline (init --trust-root) ***\n",
			dir);
	}
	if ((err = write_text(dir, "trust-root.json", t, 0644)) < 0)
		goto io;

	o = (struct kh_cert_opts){.kind = KH_CERT_CA,
				  .cn = "Khien device CA",
				  .org = "Khien",
				  .not_before = now - DAY,
				  .not_after = now + 20LL * 365 * DAY};
	if ((err = make_identity(dir, "device-ca", &o, NULL, NULL, why, whylen)) < 0)
		goto out;
	progress("device CA: %s/device-ca.pem", dir);
	o.cn = "Khien server CA";
	if ((err = make_identity(dir, "server-ca", &o, NULL, NULL, why, whylen)) < 0)
		goto out;
	progress("server CA (devices pin it): %s/server-ca.pem", dir);
	if ((err = read_text(dir, "server-ca.key", &ca_key, &len)) < 0 ||
	    (err = read_text(dir, "server-ca.pem", &ca_pem, &len)) < 0)
		goto io;
	o = (struct kh_cert_opts){.kind = KH_CERT_SERVER,
				  .cn = c.host,
				  .org = "Khien",
				  .host = c.host,
				  .not_before = now - DAY,
				  .not_after = now + 2LL * 365 * DAY};
	if ((err = make_identity(dir, "server", &o, ca_key, ca_pem, why, whylen)) < 0)
		goto out;
	progress("server certificate for %s", c.host);

	if ((err = kh_rand_bytes(raw, sizeof(raw))) < 0) {
		snprintf(why, whylen, "no entropy for the operator token");
		goto out;
	}
	kh_hex_encode(raw, sizeof(raw), tok);
	kh_memzero(raw, sizeof(raw));
	kh_sha256(tok, 64, c.operator_token_sha256);
	if ((err = write_text(dir, "operator.token", tok, 0600)) < 0)
		goto io;
	kh_memzero(tok, sizeof(tok));
	progress("operator token: %s/operator.token (mode 0600; the server keeps only its hash)",
		 dir);

	/* the store before the configuration: an unreachable database stops init */
	if ((err = open_store(dir, &c, &st, why, whylen)) < 0)
		goto out;
	progress("store: %s (%s)", c.database[0] ? c.database : "khien.db", kh_store_backend(st));
	kh_store_close(st);
	free(t);
	t = config_text(&c);
	if (!t || (err = write_text(dir, "server.json", t, 0644)) < 0) {
		err = t ? err : -ENOMEM;
		goto io;
	}
	progress("configuration: %s/server.json", dir);
	err = 0;
	goto out;
io:
	snprintf(why, whylen, "cannot write in %s: %s", dir, kh_strerror(err));
out:
	kh_pki_free_secret(ca_key);
	kh_pki_free(ca_pem);
	free(t);
	return err;
}

/* ---------------------------------------------------------------- open */

int kh_srv_open(const char *dir, struct kh_srv *s, char *why, size_t whylen)
{
	char *t = NULL;
	size_t len;
	int err;

	memset(s, 0, sizeof(*s));
	why[0] = 0;
	if (strlen(dir) > KH_SRV_PATH_MAX - 32) {
		snprintf(why, whylen, "%.200s...: path too long", dir);
		return -ENAMETOOLONG;
	}
	kh_strlcpy(s->dir, dir, sizeof(s->dir));
	if ((err = read_text(dir, "server.json", &t, &len)) < 0) {
		snprintf(why, whylen, "%s/server.json: %s (run khien-server init first)", dir,
			 kh_strerror(err));
		return err;
	}
	err = config_parse(t, len, &s->cfg, why, whylen);
	free(t);
	t = NULL;
	if (err < 0)
		return err;
	if ((err = read_text(dir, "trust-root.json", &t, &len)) < 0) {
		snprintf(why, whylen, "%s/trust-root.json: %s", dir, kh_strerror(err));
		return err;
	}
	err = kh_root_verify_self(t, len, &s->root, why, whylen);
	free(t);
	if (err < 0)
		return err;
	return open_store(dir, &s->cfg, &s->store, why, whylen);
}

void kh_srv_close(struct kh_srv *s)
{
	kh_store_close(s->store);
	s->store = NULL;
	free(s->assign);
	s->assign = NULL;
	kh_dash_free(s->dash);
	s->dash = NULL;
}

/* ---------------------------------------------------------------- provision */

void kh_srv_provisioned_free(struct kh_provisioned *p)
{
	kh_pki_free_secret(p->key_pem);
	kh_pki_free(p->cert_pem);
	free(p->ca_pem);
	free(p->root_json);
	free(p->config_json);
	memset(p, 0, sizeof(*p));
}

static char *device_config(const struct kh_srv *s, const char *serial)
{
	cJSON *o = cJSON_CreateObject(), *r, *pol;
	char *t;

	r = cJSON_AddObjectToObject(o, "report");
	cJSON_AddStringToObject(r, "url", s->cfg.url);
	cJSON_AddStringToObject(r, "serial", serial);
	cJSON_AddStringToObject(r, "server_ca", "server-ca.pem");
	cJSON_AddStringToObject(r, "cert", "device.pem");
	cJSON_AddStringToObject(r, "key", "device.key");
	pol = cJSON_AddObjectToObject(o, "policy");
	cJSON_AddStringToObject(pol, "trust_root", "root.json");
	t = cJSON_Print(o);
	cJSON_Delete(o);
	return t;
}

int kh_srv_provision(struct kh_srv *s, const char *serial, const char *group, unsigned flags,
		     int64_t not_after, const char *outdir, struct kh_provisioned *out, char *why,
		     size_t whylen)
{
	struct kh_provisioned p = {0};
	struct kh_cert_opts o;
	struct kh_cert_info info;
	struct kh_device d;
	char *ca_key = NULL, *ca_pem = NULL;
	size_t len;
	int64_t now = kh_time_wall();
	int err, exists;

	why[0] = 0;
	if (!kh_srv_serial_ok(serial) || !kh_srv_group_ok(group) || strcmp(group, "*") == 0) {
		snprintf(why, whylen, "serial and group: [A-Za-z0-9._-], 1-64 characters");
		return -EINVAL;
	}
	exists = kh_store_device_get(s->store, serial, &d) == 0;
	if (exists && !(flags & KH_PROV_FORCE)) {
		snprintf(why, whylen, "device %s is already provisioned (--force re-issues)",
			 serial);
		return -EEXIST;
	}
	if ((err = read_text(s->dir, "device-ca.key", &ca_key, &len)) < 0 ||
	    (err = read_text(s->dir, "device-ca.pem", &ca_pem, &len)) < 0 ||
	    (err = read_text(s->dir, "server-ca.pem", &p.ca_pem, &len)) < 0 ||
	    (err = read_text(s->dir, "trust-root.json", &p.root_json, &len)) < 0) {
		snprintf(why, whylen, "%s: instance files missing: %s", s->dir, kh_strerror(err));
		goto out;
	}
	if ((err = kh_pki_key_new(&p.key_pem)) < 0) {
		snprintf(why, whylen, "key generation failed");
		goto out;
	}
	o = (struct kh_cert_opts){.kind = KH_CERT_CLIENT,
				  .cn = serial,
				  .org = "Khien device",
				  .not_before = now - 3600,
				  .not_after = now + (int64_t)s->cfg.device_cert_days * DAY};
	if (not_after > 0)
		o.not_after = not_after;
	if (flags & KH_PROV_EXPIRED) {
		o.not_before = now - 3 * DAY;
		o.not_after = now - DAY;
	}
	if ((err = kh_pki_issue(&o, p.key_pem, ca_key, ca_pem, &p.cert_pem, why, whylen)) < 0 ||
	    (err = kh_pki_cert_info(p.cert_pem, &info, why, whylen)) < 0)
		goto out;
	p.config_json = device_config(s, serial);
	if (!p.config_json) {
		err = -ENOMEM;
		goto out;
	}
	if (outdir) {
		static const char *const names[] = {"device.key", "device.pem", "server-ca.pem",
						    "root.json", "khiend.json"};
		const char *texts[] = {p.key_pem, p.cert_pem, p.ca_pem, p.root_json, p.config_json};
		if ((err = kh_fs_mkdir_p(outdir, 0700)) < 0) {
			snprintf(why, whylen, "cannot create %s: %s", outdir, kh_strerror(err));
			goto out;
		}
		for (unsigned i = 0; i < KH_ARRAY_SIZE(names); i++)
			if ((err = write_text(outdir, names[i], texts[i], i == 0 ? 0600 : 0644)) <
			    0) {
				snprintf(why, whylen, "cannot write %s/%s: %s", outdir, names[i],
					 kh_strerror(err));
				goto out;
			}
	}
	/* Registered last: a device exists only once its identity is complete. */
	err = exists ? kh_store_device_set_cert(s->store, serial, info.sha256, info.not_after)
		     : kh_store_device_add(s->store, serial, group, info.sha256, info.not_after,
					   now);
	if (err < 0) {
		snprintf(why, whylen, "store: %s", kh_strerror(err));
		goto out;
	}
	if (out) {
		*out = p;
		memset(&p, 0, sizeof(p));
	}
out:
	kh_srv_provisioned_free(&p);
	kh_pki_free_secret(ca_key);
	kh_pki_free(ca_pem);
	return err;
}

/* ---------------------------------------------------------------- publish */

int kh_srv_publish_bundle(struct kh_srv *s, const uint8_t *bundle, size_t len,
			  struct kh_policy_rec *rec, char *why, size_t whylen)
{
	struct kh_verify_ctx ctx = {.root = &s->root, .now = kh_time_wall()};
	struct kh_bundle b;
	struct kh_root newest;
	struct kh_policy_rec old;
	uint8_t h[32];
	char p[KH_SRV_PATH_MAX + 64];
	int err;

	why[0] = 0;
	/* The server checks what it distributes with the devices' own rules. */
	err = kh_bundle_verify(bundle, len, &ctx, &b, &newest, why, whylen);
	if (err < 0)
		return err;
	kh_sha256(bundle, len, h);
	memset(rec, 0, sizeof(*rec));
	rec->version = b.version;
	kh_hex_encode(h, 32, rec->sha256_hex);
	rec->size = len;
	rec->created = b.created;
	rec->expires = b.expires;
	rec->published = kh_time_wall();
	snprintf(rec->path, sizeof(rec->path), "bundles/%llu.bundle",
		 (unsigned long long)b.version);
	if (kh_store_policy_get(s->store, b.version, &old) == 0) {
		if (strcmp(old.sha256_hex, rec->sha256_hex) != 0) {
			snprintf(why, whylen,
				 "version %llu is already published with other content; "
				 "sign a new version",
				 (unsigned long long)b.version);
			return -EEXIST;
		}
		*rec = old;
	} else {
		path_of(p, sizeof(p), s->dir, rec->path);
		if ((err = kh_fs_write_atomic(p, bundle, len, 0644)) < 0) {
			snprintf(why, whylen, "cannot write %s: %s", p, kh_strerror(err));
			return err;
		}
		if ((err = kh_store_policy_add(s->store, rec)) < 0) {
			snprintf(why, whylen, "store: %s", kh_strerror(err));
			return err;
		}
	}
	return 0;
}

int kh_srv_publish(struct kh_srv *s, const uint8_t *bundle, size_t len, const char *group,
		   struct kh_policy_rec *rec, char *why, size_t whylen)
{
	struct kh_rollout r;
	int err;

	if (!kh_srv_group_ok(group)) {
		snprintf(why, whylen, "group: [A-Za-z0-9._-] or *");
		return -EINVAL;
	}
	if ((err = kh_srv_publish_bundle(s, bundle, len, rec, why, whylen)) < 0)
		return err;
	if ((err = kh_store_assign(s->store, group, rec->version, rec->published)) < 0) {
		snprintf(why, whylen, "store: %s", kh_strerror(err));
		return err;
	}
	/* the whole group now has this version: a rollout of the group is over */
	if (kh_store_rollout_get(s->store, group, &r) == 0 && r.state != KH_ROLLOUT_DONE) {
		r.state = KH_ROLLOUT_DONE;
		r.updated = rec->published;
		snprintf(r.reason, sizeof(r.reason),
			 "superseded: version %llu published to the group",
			 (unsigned long long)rec->version);
		if ((err = kh_store_rollout_put(s->store, &r)) < 0) {
			snprintf(why, whylen, "store: %s", kh_strerror(err));
			return err;
		}
	}
	snprintf(why, whylen, "published version %llu (%llu bytes, sha256 %.16s...) to group %s",
		 (unsigned long long)rec->version, (unsigned long long)len, rec->sha256_hex, group);
	return 0;
}
