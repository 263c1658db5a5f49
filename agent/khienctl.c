/* SPDX-License-Identifier: MIT */
/*
 * khienctl: talk to a running khiend over its control socket.
 *
 * Exit codes: 0 ok; 1 the daemon reported a failure (or the name is
 * blocked, for check --exit-status); 2 usage error; 3 cannot reach the
 * daemon.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <errno.h>
#include <limits.h>

#include "lib/err.h"
#include "platform/fs.h"
#include "platform/net.h"
#include "platform/proc.h"
#include "platform/time.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define RESP_MAX (1 << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: khienctl [--control PATH] [--json] <command>\n"
		"\n"
		"commands:\n"
		"  status              daemon status as JSON (uptime, index, counters, upstreams)\n"
		"  check NAME [--client ADDR]\n"
		"                      the live verdict for NAME and why; with --client, for\n"
		"                      that device now (its profile, rule, schedule window)\n"
		"  reload              re-open the blocklist index\n"
		"  events [--since N]  queued security events as JSON\n"
		"  policy apply BUNDLE verify and apply a signed policy bundle\n"
		"  sync [--no-wait]    check in with the server and upload events now;\n"
		"                      waits (up to 90 s) and prints how the sync went\n"
		"  audit               the latest configuration audit results\n"
		"  audit run           run the audit now, wait for it (up to 5 min), print them\n"
		"  firmware verify IMG IMG.manifest\n"
		"                      may this image be flashed? (signature, hardware,\n"
		"                      security counter, length, SHA-256); exit 0 only if so\n"
		"  firmware commit IMG.manifest\n"
		"                      the image booted: raise the security counter, install\n"
		"                      its manifest as the running image's\n"
		"  firmware reset RESET.json  a root-signed reset of a corrupt counter\n"
		"  firmware status [--json]   counter, running image, last verification\n"
		"  integrity [run]     firmware status, file baseline version, last scan and open\n"
		"                      drifts (run: a full scan now, waited for)\n"
		"  web setup-code [--json]\n"
		"                      the one-time code the owner's first password needs\n"
		"                      (root only: read from STATE/setup.code; docs/WEB.md)\n"
		"\n"
		"  --control PATH      control socket (default $KHIEN_CONTROL, else\n"
		"                      /run/khien/khiend.sock)\n"
		"  --json              print the daemon's JSON answer for every command\n"
		"\n"
		"Exit codes: 0 ok, 1 failed (for audit: a check failed or is an error;\n"
		"for integrity: a drift is open),\n"
		"2 usage, 3 daemon unreachable.\n");
}

/* One request (with nfd descriptors passed along, each >= 0), one answer. */
static int call_fds(const char *path, cJSON *req, const int *fds, int nfd, cJSON **resp)
{
	char *line = cJSON_PrintUnformatted(req), *buf = malloc(RESP_MAX + 1);
	size_t len = 0;
	kh_sock s;
	int err;

	if (!line || !buf) {
		free(line);
		free(buf);
		return -ENOMEM;
	}
	err = kh_net_local_connect(path, &s);
	if (err < 0) {
		fprintf(stderr, "khienctl: cannot reach khiend at %s: %s\n", path,
			kh_strerror(err));
		free(line);
		free(buf);
		return err;
	}
	size_t n = strlen(line);
	line[n] = '\n'; /* the NUL becomes the newline: send n + 1 bytes */
	for (size_t off = 0, k = 0; off < n + 1;) {
		/*
		 * Each descriptor rides with bytes of its own (one byte each but
		 * the last), so the daemon receives them one per read, in order.
		 */
		int w = (int)k < nfd ? kh_net_send_fd(s, line + off,
						      (int)k + 1 < nfd ? 1 : n + 1 - off, fds[k])
				     : kh_net_send(s, line + off, n + 1 - off);
		k++;
		if (w <= 0) {
			err = w < 0 ? w : -EIO;
			goto out;
		}
		off += (size_t)w;
	}
	for (;;) {
		int r = kh_net_recv(s, buf + len, RESP_MAX - len);
		if (r < 0) {
			err = r;
			goto out;
		}
		if (r == 0 || (len += (size_t)r) >= RESP_MAX || memchr(buf, '\n', len))
			break;
	}
	buf[len] = 0;
	*resp = cJSON_Parse(buf);
	err = *resp ? 0 : -EBADMSG;
out:
	if (err < 0)
		fprintf(stderr, "khienctl: talking to %s: %s\n", path, kh_strerror(err));
	kh_net_close(s);
	free(line);
	free(buf);
	return err;
}

static int call_fd(const char *path, cJSON *req, int fd, cJSON **resp)
{
	return call_fds(path, req, &fd, fd >= 0, resp);
}

static int call(const char *path, cJSON *req, cJSON **resp)
{
	return call_fd(path, req, -1, resp);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/*
 * Poll status until sync number target has finished; *out gets the
 * "report" object with "ok" set from how it went.
 */
static int wait_sync(const char *path, double target, cJSON **out)
{
	for (int i = 0; i < 900; i++) {
		cJSON *req = cJSON_CreateObject(), *st = NULL, *rep;
		double done;
		cJSON_AddStringToObject(req, "cmd", "status");
		if (call(path, req, &st) < 0) {
			cJSON_Delete(req);
			return EXIT_UNREACHABLE;
		}
		cJSON_Delete(req);
		rep = cJSON_GetObjectItem(st, "report");
		done = cJSON_GetNumberValue(cJSON_GetObjectItem(rep, "syncs"));
		if (done >= target) {
			int ok = cJSON_GetNumberValue(
					 cJSON_GetObjectItem(rep, "failures_in_a_row")) == 0;
			*out = cJSON_DetachItemFromObject(st, "report");
			cJSON_AddBoolToObject(*out, "ok", ok);
			if (!ok)
				cJSON_AddStringToObject(*out, "error", str(*out, "last_result"));
			cJSON_Delete(st);
			return ok ? 0 : EXIT_FAILED;
		}
		cJSON_Delete(st);
		kh_time_sleep_ms(100);
	}
	*out = cJSON_CreateObject();
	cJSON_AddBoolToObject(*out, "ok", 0);
	cJSON_AddStringToObject(*out, "error", "no answer from the server within 90 s");
	return EXIT_FAILED;
}

/* The integrity answer for people: firmware, baseline, last scan, open drifts. */
static void print_integrity(const cJSON *resp)
{
	const cJSON *in = cJSON_GetObjectItem(resp, "integrity"), *fw, *b, *ls, *d;

	fw = cJSON_GetObjectItem(resp, "firmware");
	if (cJSON_IsObject(fw)) {
		char *s = cJSON_PrintUnformatted(fw);
		printf("firmware: %s\n", s);
		free(s);
	} else {
		printf("firmware: not reported by this khiend\n");
	}
	b = cJSON_GetObjectItem(in, "baseline");
	if (cJSON_IsObject(b))
		printf("baseline: version %.0f, %.0f files under %.0f watched paths\n",
		       cJSON_GetNumberValue(cJSON_GetObjectItem(b, "version")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(b, "files")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(b, "watched")));
	else
		printf("baseline: none in the active policy\n");
	ls = cJSON_GetObjectItem(in, "last_scan");
	if (cJSON_IsObject(ls))
		printf("last scan: %s, %.0f files, %.0f skipped, %.1f ms, in the %s%s\n",
		       str(ls, "mode"), cJSON_GetNumberValue(cJSON_GetObjectItem(ls, "files")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(ls, "skipped")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(ls, "scan_us")) / 1000.0,
		       str(in, "where"),
		       cJSON_IsTrue(cJSON_GetObjectItem(in, "running")) ? " (one running)" : "");
	else
		printf("last scan: none yet\n");
	if (*str(in, "error"))
		printf("error: %s\n", str(in, "error"));
	printf("open drifts: %d\n", cJSON_GetArraySize(cJSON_GetObjectItem(in, "drifts")));
	cJSON_ArrayForEach (d, cJSON_GetObjectItem(in, "drifts"))
		printf("  %-8s %-18s %s (%s): %s\n", str(d, "severity"), str(d, "type"),
		       str(d, "path"), str(d, "what"), str(d, "evidence"));
}

/* Poll the audit (or integrity: what) until run number target is done; its answer in *out. */
static int wait_audit(const char *path, const char *what, double target, cJSON **out)
{
	for (int i = 0; i < 3000; i++) {
		cJSON *req = cJSON_CreateObject(), *st = NULL;
		cJSON_AddStringToObject(req, "cmd", what);
		if (call(path, req, &st) < 0) {
			cJSON_Delete(req);
			return EXIT_UNREACHABLE;
		}
		cJSON_Delete(req);
		if (cJSON_GetNumberValue(
			    cJSON_GetObjectItem(cJSON_GetObjectItem(st, what), "run")) >= target) {
			*out = st;
			return 0;
		}
		cJSON_Delete(st);
		if (i && i % 50 == 0)
			fprintf(stderr, "khienctl: %s still running (%d s)\n", what, i / 10);
		kh_time_sleep_ms(100);
	}
	*out = cJSON_CreateObject();
	cJSON_AddBoolToObject(*out, "ok", 0);
	cJSON_AddStringToObject(*out, "error", "the scan did not finish within 5 min");
	return EXIT_FAILED;
}

/* The audit as a table, as khien-policy audit check prints it; 1 if a check fails. */
static int print_audit(const cJSON *au)
{
	const cJSON *c, *sum = cJSON_GetObjectItem(au, "summary");
	const cJSON *pol = cJSON_GetObjectItem(au, "policy");
	int bad;

	if (!str(pol, "id")[0]) {
		printf("no audit rules in the active policy\n");
		return 0;
	}
	printf("%s version %.0f, run %.0f\n", str(pol, "id"),
	       cJSON_GetNumberValue(cJSON_GetObjectItem(pol, "version")),
	       cJSON_GetNumberValue(cJSON_GetObjectItem(au, "run")));
	if (*str(au, "error"))
		printf("error: %s\n", str(au, "error"));
	printf("%-6s %-8s %-32s %s\n", "RESULT", "SEVERITY", "CHECK", "EVIDENCE");
	cJSON_ArrayForEach (c, cJSON_GetObjectItem(au, "checks"))
		printf("%-6s %-8s %-32s %s\n", str(c, "result"), str(c, "severity"), str(c, "id"),
		       str(c, "evidence"));
#define N(k) ((int)cJSON_GetNumberValue(cJSON_GetObjectItem(sum, k)))
	printf("%d checks: %d pass, %d fail, %d na, %d error\n",
	       N("pass") + N("fail") + N("na") + N("error"), N("pass"), N("fail"), N("na"),
	       N("error"));
	bad = N("fail") + N("error") > 0;
#undef N
	return bad;
}

/* A file for the daemon to read, opened here as the caller (never a path khiend opens). */
static int open_arg(const char *path)
{
	int fd = kh_fs_open_read(path);

	if (fd < 0)
		fprintf(stderr, "khienctl: %s: %s\n", path, kh_strerror(fd));
	return fd;
}

static void print_fw_status(const cJSON *fw)
{
	const cJSON *in = cJSON_GetObjectItem(fw, "installed"),
		    *run = cJSON_GetObjectItem(fw, "running");
	const cJSON *v = cJSON_GetObjectItem(fw, "verify");

	printf("security counter %.0f (reset epoch %.0f)%s\n",
	       cJSON_GetNumberValue(cJSON_GetObjectItem(fw, "counter")),
	       cJSON_GetNumberValue(cJSON_GetObjectItem(fw, "epoch")),
	       cJSON_IsTrue(cJSON_GetObjectItem(fw, "corrupt")) ? ": CORRUPT, images refused" : "");
	if (*str(fw, "problem"))
		printf("problem: %s\n", str(fw, "problem"));
	if (*str(fw, "reset_nonce"))
		printf("reset nonce: %s (the ISP's reset must name it: khien-policy firmware reset "
		       "--nonce)\n",
		       str(fw, "reset_nonce"));
	if (in)
		printf("installed manifest: version %s, counter %.0f\n", str(in, "version"),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(in, "security_counter")));
	else
		printf("installed manifest: none\n");
	printf("running image: %s%s%s\n", str(run, "state"), *str(run, "detail") ? ": " : "",
	       str(run, "detail"));
	if (v)
		printf("last verification: %s%s%s\n",
		       !cJSON_IsTrue(cJSON_GetObjectItem(v, "done")) ? "running"
		       : cJSON_IsTrue(cJSON_GetObjectItem(v, "ok"))  ? "ok"
								     : "refused",
		       *str(v, "error") ? ": " : "", str(v, "error"));
}

/*
 * khienctl firmware verify|commit|reset|status: the verification is a job
 * in the daemon (hashed in slices between DNS answers); poll for its end.
 */
static int firmware_cmd(const char *path, int argc, char **argv, int i, int json)
{
	const char *sub = i < argc ? argv[i++] : "";
	int fds[2] = {-1, -1}, nfd = 0, rc;
	cJSON *req = cJSON_CreateObject(), *resp = NULL, *v;
	char cmd[32];

	if (i < argc && !strcmp(argv[argc - 1], "--json"))
		json = 1, argc--;
	if (!strcmp(sub, "verify") && argc - i == 2)
		nfd = 2;
	else if ((!strcmp(sub, "commit") || !strcmp(sub, "reset")) && argc - i == 1)
		nfd = 1;
	else if (strcmp(sub, "status") || argc != i) {
		fprintf(stderr, "usage: khienctl firmware verify IMG IMG.manifest | commit "
				"IMG.manifest | reset RESET.json | status [--json]\n");
		cJSON_Delete(req);
		return EXIT_USAGE;
	}
	for (int k = 0; k < nfd; k++)
		if ((fds[k] = open_arg(argv[i + k])) < 0) {
			kh_fs_close_fd(fds[0]);
			cJSON_Delete(req);
			return EXIT_FAILED;
		}
	snprintf(cmd, sizeof(cmd), "firmware-%s", sub);
	cJSON_AddStringToObject(req, "cmd", cmd);
	rc = call_fds(path, req, fds, nfd, &resp);
	kh_fs_close_fd(fds[0]);
	kh_fs_close_fd(fds[1]);
	if (rc < 0) {
		cJSON_Delete(req);
		return EXIT_UNREACHABLE;
	}
	rc = cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")) ? 0 : EXIT_FAILED;
	v = cJSON_GetObjectItem(resp, "verify");
	if (rc == 0 && nfd == 2) {
		/* up to 10 minutes: a 64 MB image on a slow flash is hashed in well under */
		double id = cJSON_GetNumberValue(cJSON_GetObjectItem(v, "id"));
		cJSON_SetValuestring(cJSON_GetObjectItem(req, "cmd"), "firmware-status");
		for (int n = 0; n < 12000; n++) {
			cJSON *st = NULL;
			kh_time_sleep_ms(50);
			if (call(path, req, &st) < 0) {
				cJSON_Delete(req);
				cJSON_Delete(resp);
				return EXIT_UNREACHABLE;
			}
			v = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "firmware"), "verify");
			if (cJSON_GetNumberValue(cJSON_GetObjectItem(v, "id")) == id &&
			    cJSON_IsTrue(cJSON_GetObjectItem(v, "done"))) {
				cJSON_Delete(resp);
				resp = st;
				break;
			}
			cJSON_Delete(st);
		}
		v = cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "firmware"), "verify");
		rc = cJSON_IsTrue(cJSON_GetObjectItem(v, "ok")) ? 0 : EXIT_FAILED;
		if (!cJSON_IsTrue(cJSON_GetObjectItem(v, "done")))
			cJSON_AddStringToObject(v, "error", "the verification did not finish");
	}
	if (json) {
		char *s = cJSON_Print(nfd == 2 ? v : resp);
		puts(s);
		free(s);
	} else if (nfd == 2 && rc == 0) {
		printf("ok: version %s, counter %.0f\n", str(v, "version"),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(v, "security_counter")));
	} else if (nfd == 2) {
		printf("refused: %s\n", *str(v, "error") ? str(v, "error") : str(resp, "error"));
	} else if (rc) {
		printf("refused: %s\n", str(resp, "error"));
	} else if (nfd == 1) {
		printf("%s\n", str(resp, "result"));
	} else {
		print_fw_status(cJSON_GetObjectItem(resp, "firmware"));
	}
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return rc;
}

static void web_usage(FILE *f)
{
	fprintf(f, "usage: khienctl web setup-code [--json]\n"
		   "\n"
		   "Print the one-time setup code that the status page asks for before the\n"
		   "owner's first password is set (docs/WEB.md, \"First use\"). khiend says\n"
		   "where the code is; khienctl reads it as its caller, so only root can.\n"
		   "Once the password is set there is no code: exit 1.\n"
		   "Exit codes: 0 printed, 1 no code (a password is set, no owner login, or\n"
		   "not readable), 2 usage, 3 daemon unreachable or still starting.\n");
}

/* The refusal of khienctl web, as text or JSON. */
static int web_refuse(int json, const char *why, const char *file)
{
	if (json) {
		cJSON *o = cJSON_CreateObject();
		char *s;
		cJSON_AddBoolToObject(o, "ok", 0);
		cJSON_AddStringToObject(o, "error", why);
		if (file)
			cJSON_AddStringToObject(o, "file", file);
		s = cJSON_Print(o);
		puts(s);
		free(s);
		cJSON_Delete(o);
	} else {
		fprintf(stderr, "khienctl: web setup-code: %s%s%s\n", why, file ? ": " : "",
			file ? file : "");
	}
	return EXIT_FAILED;
}

/* khienctl web setup-code: the daemon names the file, the caller's rights read it. */
static int web_cmd(const char *path, int argc, char **argv, int i, int json)
{
	const char *sub = i < argc ? argv[i++] : "";
	cJSON *req, *resp = NULL;
	const cJSON *file, *set;
	uint8_t *buf = NULL;
	size_t len;
	int err, rc;

	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		web_usage(stdout);
		return 0;
	}
	for (; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			web_usage(stdout);
			return 0;
		} else
			break;
	if (strcmp(sub, "setup-code") || i != argc) {
		web_usage(stderr);
		return EXIT_USAGE;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "web");
	rc = call(path, req, &resp);
	cJSON_Delete(req);
	if (rc < 0)
		return EXIT_UNREACHABLE;
	file = cJSON_GetObjectItem(resp, "setup_code_file");
	set = cJSON_GetObjectItem(resp, "owner_set");
	if (!cJSON_IsTrue(cJSON_GetObjectItem(resp, "owner_login")))
		rc = web_refuse(json,
				"this khiend has no owner login (web.listen and a state "
				"directory)",
				NULL);
	else if (cJSON_IsTrue(set))
		rc = web_refuse(json, "the owner's password is set: there is no setup code", NULL);
	else if (!cJSON_IsString(file)) {
		web_refuse(json, "khiend does not know yet whether a password is set", NULL);
		rc = EXIT_UNREACHABLE; /* still starting: try again */
	} else if (strlen(file->valuestring) < 11 ||
		   strcmp(file->valuestring + strlen(file->valuestring) - 11, "/setup.code") != 0)
		rc = web_refuse(json, "khiend named another file", file->valuestring);
	/* root reads only root's own 0600 file there: the daemon cannot point it elsewhere */
	else if ((err = kh_proc_is_root() ? kh_fs_read_private(file->valuestring, 0, 64, &buf, &len)
					  : kh_fs_read(file->valuestring, 64, &buf, &len)) < 0)
		rc = web_refuse(json,
				!kh_proc_is_root() && err == -EACCES
					? "only root may read the setup code"
				: err == -ENOENT	 ? "no setup code (yet)"
				: kh_fs_private_why(err) ? kh_fs_private_why(err)
							 : kh_strerror(err),
				file->valuestring);
	else {
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = 0;
		if (json) {
			cJSON *o = cJSON_CreateObject();
			char *s;
			cJSON_AddBoolToObject(o, "ok", 1);
			cJSON_AddStringToObject(o, "setup_code", (const char *)buf);
			cJSON_AddStringToObject(o, "file", file->valuestring);
			s = cJSON_Print(o);
			puts(s);
			free(s);
			cJSON_Delete(o);
		} else {
			printf("%s\n", (const char *)buf);
		}
		rc = 0;
	}
	free(buf);
	cJSON_Delete(resp);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path =
		getenv("KHIEN_CONTROL") ? getenv("KHIEN_CONTROL") : "/run/khien/khiend.sock";
	int json = 0, i = 1, rc, nowait = 0;
	cJSON *req, *resp = NULL;
	const char *cmd;
	int fd = -1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--control") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[i++];
	if (strcmp(cmd, "firmware") == 0)
		return firmware_cmd(path, argc, argv, i, json);
	if (strcmp(cmd, "web") == 0)
		return web_cmd(path, argc, argv, i, json);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", cmd);
	if (strcmp(cmd, "check") == 0) {
		if (i + 1 != argc && !(i + 3 == argc && strcmp(argv[i + 1], "--client") == 0)) {
			fprintf(stderr, "usage: khienctl check NAME [--client ADDR]\n");
			return EXIT_USAGE;
		}
		cJSON_AddStringToObject(req, "name", argv[i]);
		if (i + 3 == argc)
			cJSON_AddStringToObject(req, "client", argv[i + 2]);
	} else if (strcmp(cmd, "events") == 0) {
		if (i + 2 == argc && strcmp(argv[i], "--since") == 0)
			cJSON_AddNumberToObject(req, "since", strtod(argv[i + 1], NULL));
		else if (i != argc) {
			fprintf(stderr, "usage: khienctl events [--since N]\n");
			return EXIT_USAGE;
		}
	} else if (strcmp(cmd, "policy") == 0) {
		if (i + 2 != argc || strcmp(argv[i], "apply") != 0) {
			fprintf(stderr,
				"usage: khienctl policy apply BUNDLE (or - for a file on stdin)\n");
			return EXIT_USAGE;
		}
		/* opened here, as the caller: khiend reads what the caller may read, no more */
		fd = strcmp(argv[i + 1], "-") == 0 ? 0 : kh_fs_open_read(argv[i + 1]);
		/* never hand the daemon a terminal or pipe: only the bundle file */
		if (fd == 0 && !kh_fs_fd_regular(0)) {
			fprintf(stderr, "khienctl: standard input is not a file (use < BUNDLE)\n");
			return EXIT_FAILED;
		}
		if (fd < 0) {
			fprintf(stderr, "khienctl: %s: %s\n", argv[i + 1], kh_strerror(fd));
			return EXIT_FAILED;
		}
		cJSON_ReplaceItemInObject(req, "cmd", cJSON_CreateString("policy-apply"));
	} else if (strcmp(cmd, "sync") == 0) {
		if (i < argc && strcmp(argv[i], "--no-wait") == 0)
			nowait = 1, i++;
		if (i != argc) {
			fprintf(stderr, "usage: khienctl sync [--no-wait]\n");
			return EXIT_USAGE;
		}
	} else if (strcmp(cmd, "audit") == 0) {
		if (i < argc && strcmp(argv[i], "run") == 0) {
			cJSON_ReplaceItemInObject(req, "cmd", cJSON_CreateString("audit-run"));
			i++;
		}
		if (i < argc && strcmp(argv[i], "--json") == 0)
			json = 1, i++;
		if (i != argc) {
			fprintf(stderr, "usage: khienctl audit [run] [--json]\n");
			return EXIT_USAGE;
		}
	} else if (strcmp(cmd, "integrity") == 0) {
		if (i < argc && strcmp(argv[i], "run") == 0) {
			cJSON_ReplaceItemInObject(req, "cmd", cJSON_CreateString("integrity-run"));
			i++;
		}
		if (i < argc && strcmp(argv[i], "--json") == 0)
			json = 1, i++;
		if (i != argc) {
			fprintf(stderr, "usage: khienctl integrity [run] [--json]\n");
			return EXIT_USAGE;
		}
	} else if ((strcmp(cmd, "status") != 0 && strcmp(cmd, "reload") != 0) || i != argc) {
		fprintf(stderr, "khienctl: unknown command or extra arguments: %s\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (call_fd(path, req, fd, &resp) < 0) {
		cJSON_Delete(req);
		return EXIT_UNREACHABLE;
	}
	rc = cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")) ? 0 : EXIT_FAILED;
	if (rc == 0 && strcmp(cmd, "sync") == 0 && !nowait) {
		double target = cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "sync"));
		cJSON_Delete(resp);
		resp = NULL;
		rc = wait_sync(path, target, &resp);
		if (rc == EXIT_UNREACHABLE) {
			cJSON_Delete(req);
			return rc;
		}
	}
	if (rc == 0 && strcmp(str(req, "cmd"), "audit-run") == 0) {
		double target = cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "started"));
		cJSON_Delete(resp);
		resp = NULL;
		rc = wait_audit(path, "audit", target, &resp);
		if (rc == EXIT_UNREACHABLE) {
			cJSON_Delete(req);
			return rc;
		}
	}
	if (rc == 0 && strcmp(str(req, "cmd"), "integrity-run") == 0) {
		double target = cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "started"));
		cJSON_Delete(resp);
		resp = NULL;
		rc = wait_audit(path, "integrity", target, &resp);
		if (rc == EXIT_UNREACHABLE) {
			cJSON_Delete(req);
			return rc;
		}
	}
	if (rc == 0 && strcmp(cmd, "integrity") == 0) {
		const cJSON *in = cJSON_GetObjectItem(resp, "integrity");
		rc = cJSON_GetArraySize(cJSON_GetObjectItem(in, "drifts")) ? EXIT_FAILED : 0;
		if (json) {
			char *s = cJSON_Print(resp);
			puts(s);
			free(s);
		} else {
			print_integrity(resp);
		}
	} else if (rc == 0 && strcmp(cmd, "audit") == 0) {
		const cJSON *au = cJSON_GetObjectItem(resp, "audit");
		if (json) {
			char *s = cJSON_Print(au);
			puts(s);
			free(s);
			const cJSON *sum = cJSON_GetObjectItem(au, "summary");
			rc = cJSON_GetNumberValue(cJSON_GetObjectItem(sum, "fail")) +
						     cJSON_GetNumberValue(
							     cJSON_GetObjectItem(sum, "error")) >
					     0
				     ? EXIT_FAILED
				     : 0;
		} else {
			rc = print_audit(au) ? EXIT_FAILED : 0;
		}
	} else if (json || strcmp(cmd, "status") == 0 || strcmp(cmd, "events") == 0) {
		char *s = cJSON_Print(resp);
		puts(s);
		free(s);
	} else if (rc) {
		fprintf(stderr, "khienctl: %s: %s\n", cmd, str(resp, "error"));
	} else if (strcmp(cmd, "check") == 0) {
		const char *v = str(resp, "verdict");
		const cJSON *pr = cJSON_GetObjectItem(resp, "profile");
		if (cJSON_IsObject(pr) && cJSON_IsTrue(cJSON_GetObjectItem(pr, "blocked")))
			printf("%s blocked for %s by profile %s: %s%s%s%s%s%s%s\n",
			       str(resp, "name"), str(resp, "client"), str(pr, "name"),
			       str(pr, "reason"), *str(pr, "rule") ? " " : "", str(pr, "rule"),
			       *str(pr, "category") ? " " : "", str(pr, "category"),
			       *str(pr, "window") ? " window " : "", str(pr, "window"));
		else if (cJSON_IsObject(pr) && *str(pr, "safe_search"))
			printf("%s %s for %s (profile %s): safe search, answered as %s\n",
			       str(resp, "name"), v, str(resp, "client"), str(pr, "name"),
			       str(pr, "safe_search"));
		else if (strcmp(v, "blocked") == 0 && *str(resp, "rule"))
			printf("%s blocked %s %s (%s, list %s)\n", str(resp, "name"),
			       str(resp, "category"), str(resp, "rule"), str(resp, "action"),
			       str(resp, "source"));
		else if (*str(resp, "rule"))
			printf("%s %s by %s (%s)\n", str(resp, "name"), v, str(resp, "rule"),
			       str(resp, "source"));
		else
			printf("%s %s (%s)\n", str(resp, "name"), v, str(resp, "reason"));
	} else if (strcmp(cmd, "policy") == 0) {
		printf("%s\n", str(resp, "result"));
	} else if (strcmp(cmd, "sync") == 0) {
		printf("%s\n", nowait ? "sync requested" : str(resp, "last_result"));
	} else if (strcmp(cmd, "reload") == 0) {
		const cJSON *ix = cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "dns"), "index");
		printf("reloaded %s: %d entries, build %s\n", str(ix, "path"),
		       cJSON_GetObjectItem(ix, "entries")
			       ? cJSON_GetObjectItem(ix, "entries")->valueint
			       : 0,
		       str(ix, "build_id"));
	}
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return rc;
}
