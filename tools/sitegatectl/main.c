/* sitegatectl: the operator's view of a running gateway, over the bus.
 *
 *   sitegatectl [-c FILE] [--json] [-v] status
 *   sitegatectl [-c FILE] [--json] [-v] monitor [PATTERN] [--count N]
 *   sitegatectl [-c FILE] [--json] [-v] ping SERVICE [--count N] [--timeout-ms MS]
 *   sitegatectl [-c FILE] [-v] wait SERVICE... [--timeout-ms MS]
 *   sitegatectl [-c FILE] [--json] [-v] sim CP CONN ACTION [VALUE] [--timeout-ms MS]
 *
 * Every command is one bus client on the poll loop. `status` waits for the
 * retained state through a marker message it sends itself: the broker delivers
 * retained messages when it handles a SUBSCRIBE, so once our own marker comes
 * back, everything retained before it has arrived. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sitegate/bus_loop.h"
#include "sitegate/log.h"
#include "sitegate/service.h"
#include "sitegate/time.h"

#include "progress.h"

#define EXIT_USAGE 64

struct ctl {
	struct sg_config conf;
	struct sg_loop *loop;
	struct sg_bus *bus;
	struct sg_bus_loop *att;
	bool json;
	int exit_code;
	char client_id[64];
	char marker[SG_TOPIC_MAX];
	bool synced;

	/* status */
	json_t *services, *cps, *site;
	json_t *lines; /* cp -> {firmware, diagnostics}: rendered progress lines */
	/* monitor */
	const char *pattern;
	long count, seen;
	/* wait */
	char **waiting;
	int n_waiting;
	uint64_t wait_timer;
	/* ping */
	const char *target;
	long sent, answered;
	int64_t timeout_ms;
	/* sim */
	struct sg_topic_args sim_args;
	struct sg_msg_sim_cmd sim_cmd;
};

/* Options every command accepts after its name too. */
#define COMMON_LONG_OPTS                                                                           \
	{"json", no_argument, NULL, 'j'},                                                          \
	{                                                                                          \
		"verbose", no_argument, NULL, 'v'                                                  \
	}

static bool
common_opt(struct ctl *ctl, int c)
{
	if (c == 'j')
		ctl->json = true;
	else if (c == 'v')
		sg_log_set_level(SG_LOG_DEBUG);
	else
		return false;
	return true;
}

static void
usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: sitegatectl [-c FILE] [--json] [-v] COMMAND [ARGS]\n"
	    "Commands:\n"
	    "  status                         services, charge points and connectors\n"
	    "  monitor [PATTERN] [--count N]  print bus traffic (PATTERN below the prefix, "
	    "default #)\n"
	    "  ping SERVICE [--count N] [--timeout-ms MS]\n"
	    "                                 round trips to a service through the broker\n"
	    "  wait SERVICE... [--timeout-ms MS]\n"
	    "                                 until the services are online\n"
	    "  sim CP CONN ACTION [VALUE] [--timeout-ms MS]\n"
	    "                                 drive a simulated connector: plug, unplug, remove,\n"
	    "                                 ev A..F, rfid IDTAG, fault CODE, clear [CODE],\n"
	    "                                 lock-fail, lock-ok, contactor-fail, contactor-ok\n"
	    "Options:\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  --json             machine-readable output, one JSON document per line\n"
	    "  -v, --verbose      log debug messages\n",
	    SG_CONFIG_DEFAULT_PATH);
}

static void
print_json_line(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		puts(s);
		fflush(stdout);
		free(s);
	}
}

/* ---- marker: know when the retained state has arrived ---------------------- */

typedef void synced_fn(struct ctl *ctl);
static synced_fn *on_synced;

static void
on_marker(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct ctl *ctl = ud;
	if (ctl->synced)
		return;
	ctl->synced = true;
	on_synced(ctl);
}

static void
on_connected(struct sg_bus *bus, bool connected, void *ud)
{
	struct ctl *ctl = ud;
	if (connected && !ctl->synced)
		sg_bus_publish_raw(bus, ctl->marker, "\x80", 1, SG_CLASS_EVENT); /* {} */
}

/* ---- status ---------------------------------------------------------------- */

static json_t *
cp_entry(struct ctl *ctl, const char *cp)
{
	json_t *e = json_object_get(ctl->cps, cp);
	if (!e) {
		e = json_pack("{s:{},s:{}}", "state", "connectors");
		json_object_set_new(ctl->cps, cp, e);
	}
	return e;
}

/* A connector-indexed member ("connectors", "limits") of the charge point's entry. */
static void
set_conn_member(struct ctl *ctl, const struct sg_bus_in *in, const char *member)
{
	char key[16];
	json_t *e = cp_entry(ctl, in->args->cp);
	json_t *m = json_object_get(e, member);
	if (!m) {
		m = json_object();
		json_object_set_new(e, member, m);
	}
	snprintf(key, sizeof(key), "%d", in->args->conn);
	json_object_set_new(m, key, sg_msg_to_json(in->id, in->msg));
}

static void
on_svc_status(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct ctl *ctl = ud;
	json_object_set_new(ctl->services, in->args->svc, sg_msg_to_json(in->id, in->msg));
}

static void
on_cp_state(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct ctl *ctl = ud;
	json_object_set_new(cp_entry(ctl, in->args->cp), "state", sg_msg_to_json(in->id, in->msg));
}

static void
on_conn_state(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	set_conn_member(ud, in, "connectors");
}

static void
on_conn_limit(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	set_conn_member(ud, in, "limits");
}

static void
on_site_share(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct ctl *ctl = ud;
	json_decref(ctl->site);
	ctl->site = sg_msg_to_json(in->id, in->msg);
}

static void
on_maintenance(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct ctl *ctl = ud;
	bool fw = in->id == SG_MSG_fw_state;
	char line[256];
	if (fw)
		mt_fw_state_line(in->msg, 20, line, sizeof(line));
	else
		mt_diag_state_line(in->msg, 20, line, sizeof(line));
	json_object_set_new(cp_entry(ctl, in->args->cp), fw ? "firmware" : "diagnostics",
	                    sg_msg_to_json(in->id, in->msg));
	json_t *l = json_object_get(ctl->lines, in->args->cp);
	if (!l) {
		l = json_object();
		json_object_set_new(ctl->lines, in->args->cp, l);
	}
	json_object_set_new(l, fw ? "firmware" : "diagnostics", json_string(line));
}

static const char *
str_or(json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? s : dflt;
}

static void
print_status_text(struct ctl *ctl)
{
	const char *name;
	json_t *v;
	printf("Services:\n");
	if (json_object_size(ctl->services) == 0)
		printf("  (none seen)\n");
	json_object_foreach(ctl->services, name, v)
	{
		printf("  %-14s %-8s %s", name, str_or(v, "state", "?"), str_or(v, "version", ""));
		if (json_integer_value(json_object_get(v, "pid")))
			printf("  pid %" JSON_INTEGER_FORMAT,
			       json_integer_value(json_object_get(v, "pid")));
		printf("\n");
	}
	printf("Charge points:\n");
	for (int i = 0; i < ctl->conf.n_cps; i++) {
		const char *id = ctl->conf.cps[i].id;
		json_t *e = json_object_get(ctl->cps, id);
		json_t *st = json_object_get(e, "state");
		printf("  %-10s %s", id, str_or(st, "connection", "unknown"));
		if (*str_or(st, "registration", ""))
			printf(" (%s)", str_or(st, "registration", ""));
		if (json_object_get(st, "queue_depth")) {
			printf("  queue %" JSON_INTEGER_FORMAT,
			       json_integer_value(json_object_get(st, "queue_depth")));
			if (json_integer_value(json_object_get(st, "queue_depth")))
				printf(" (oldest %" JSON_INTEGER_FORMAT " s)",
				       json_integer_value(json_object_get(st, "queue_oldest_age")) /
				           1000);
			printf(", dropped %" JSON_INTEGER_FORMAT
			       ", reconnects %" JSON_INTEGER_FORMAT ", clock %s",
			       json_integer_value(json_object_get(st, "queue_drops")),
			       json_integer_value(json_object_get(st, "reconnects")),
			       json_is_true(json_object_get(st, "clock_trusted")) ? "trusted"
			                                                          : "not trusted");
		}
		printf("\n");
		json_t *pl = json_object_get(ctl->lines, id);
		if (json_object_get(pl, "firmware"))
			printf("    %s\n", json_string_value(json_object_get(pl, "firmware")));
		if (json_object_get(pl, "diagnostics"))
			printf("    %s\n", json_string_value(json_object_get(pl, "diagnostics")));
		json_t *conns = json_object_get(e, "connectors");
		for (int c = 0; c <= ctl->conf.cps[i].n_connectors; c++) {
			char key[16];
			snprintf(key, sizeof(key), "%d", c);
			json_t *cs = json_object_get(conns, key);
			printf("    connector %d  %-13s", c, str_or(cs, "status", "unknown"));
			const char *err = str_or(cs, "error_code", "NoError");
			if (strcmp(err, "NoError") != 0)
				printf(" %s", err);
			if (json_integer_value(json_object_get(cs, "transaction_id")))
				printf(" transaction %" JSON_INTEGER_FORMAT " (%s)",
				       json_integer_value(json_object_get(cs, "transaction_id")),
				       str_or(cs, "id_tag", "?"));
			json_t *l = json_object_get(json_object_get(e, "limits"), key);
			if (c > 0 && l) {
				double limit = json_number_value(json_object_get(l, "limit_a"));
				json_t *ocpp = json_object_get(l, "ocpp_limit_a");
				printf("  limit %.1f A (%s", limit, str_or(l, "source", "?"));
				if (ocpp && json_number_value(ocpp) != limit)
					printf("; OCPP %.1f A", json_number_value(ocpp));
				printf(")");
			}
			printf("\n");
		}
	}
	if (ctl->site) {
		printf("Site: %.1f A to share, %.1f A offered to %" JSON_INTEGER_FORMAT
		       " connector(s)",
		       json_number_value(json_object_get(ctl->site, "capacity_a")),
		       json_number_value(json_object_get(ctl->site, "offered_a")),
		       json_integer_value(json_object_get(ctl->site, "active")));
		if (json_integer_value(json_object_get(ctl->site, "paused")))
			printf(", %" JSON_INTEGER_FORMAT " waiting for its turn",
			       json_integer_value(json_object_get(ctl->site, "paused")));
		printf("\n");
	}
}

static void
status_synced(struct ctl *ctl)
{
	if (ctl->json) {
		json_t *doc =
		    json_pack("{s:O,s:O}", "services", ctl->services, "charge_points", ctl->cps);
		if (ctl->site)
			json_object_set(doc, "site", ctl->site);
		print_json_line(doc);
		json_decref(doc);
	} else {
		print_status_text(ctl);
	}
	sg_loop_stop(ctl->loop);
}

static int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {COMMON_LONG_OPTS, {NULL, 0, NULL, 0}};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1)
		if (!common_opt(ctl, c))
			goto bad;
	if (optind < argc)
		goto bad;
	ctl->services = json_object();
	ctl->cps = json_object();
	ctl->lines = json_object();
	on_synced = status_synced;
	sg_bus_subscribe(ctl->bus, SG_MSG_svc_status, on_svc_status, ctl);
	sg_bus_subscribe(ctl->bus, SG_MSG_cp_state, on_cp_state, ctl);
	sg_bus_subscribe(ctl->bus, SG_MSG_conn_state, on_conn_state, ctl);
	sg_bus_subscribe(ctl->bus, SG_MSG_conn_limit, on_conn_limit, ctl);
	sg_bus_subscribe(ctl->bus, SG_MSG_site_share, on_site_share, ctl);
	sg_bus_subscribe(ctl->bus, SG_MSG_fw_state, on_maintenance, ctl);
	sg_bus_subscribe(ctl->bus, SG_MSG_diag_state, on_maintenance, ctl);
	return 0;
bad:
	fprintf(stderr, "sitegatectl: status takes no arguments\n");
	return EXIT_USAGE;
}

/* ---- monitor --------------------------------------------------------------- */

static void
on_any(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct ctl *ctl = ud;
	if (strcmp(in->topic, ctl->marker) == 0)
		return;
	char why[128] = "";
	json_t *payload = sg_json_from_mp(in->payload, in->len, why, sizeof(why));
	if (!payload)
		payload = json_pack("{s:s,s:s%}", "malformed", why, "hex", "", (size_t)0);
	const char *topic = in->topic + strlen(ctl->conf.broker.prefix) + 1;
	if (ctl->json) {
		json_t *line = json_pack("{s:s,s:b,s:O}", "topic", topic, "retained", in->retained,
		                         "payload", payload);
		print_json_line(line);
		json_decref(line);
	} else {
		char *s = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s%s %s\n", topic, in->retained ? " (retained)" : "", s ? s : "?");
		fflush(stdout);
		free(s);
	}
	json_decref(payload);
	if (ctl->count > 0 && ++ctl->seen >= ctl->count)
		sg_loop_stop(ctl->loop);
}

static void
monitor_synced(struct ctl *ctl)
{
	fprintf(stderr, "monitoring %s\n", ctl->pattern);
}

static int
cmd_monitor(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'}, COMMON_LONG_OPTS, {NULL, 0, NULL, 0}};
	int c;
	optind = 0; /* glibc: a full reset, options may follow operands */
	while ((c = getopt_long(argc, argv, "n:v", opts, NULL)) != -1) {
		if (common_opt(ctl, c))
			continue;
		if (c != 'n' || (ctl->count = strtol(optarg, NULL, 10)) <= 0) {
			fprintf(stderr, "sitegatectl: monitor [PATTERN] [--count N>0]\n");
			return EXIT_USAGE;
		}
	}
	ctl->pattern = optind < argc ? argv[optind++] : "#";
	if (optind < argc) {
		fprintf(stderr, "sitegatectl: monitor takes one PATTERN\n");
		return EXIT_USAGE;
	}
	char full[SG_TOPIC_MAX];
	snprintf(full, sizeof(full), "%s/%s", ctl->conf.broker.prefix, ctl->pattern);
	on_synced = monitor_synced;
	return sg_bus_subscribe_raw(ctl->bus, full, 1, on_any, ctl) < 0 ? EXIT_USAGE : 0;
}

/* ---- ping ------------------------------------------------------------------ */

static void send_ping(struct ctl *ctl);

static void
on_pong(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct ctl *ctl = ud;
	if (status == -ECANCELED)
		return;
	if (status < 0) {
		fprintf(stderr, "sitegatectl: ping %ld to %s: %s\n", ctl->sent, ctl->target,
		        strerror(-status));
		ctl->exit_code = 1;
	} else {
		const struct sg_msg_svc_pong *p = reply;
		int64_t rtt = sg_time_mono_ms() - p->sent;
		ctl->answered++;
		if (ctl->json) {
			json_t *j = json_pack("{s:s,s:I,s:I}", "svc", p->svc, "seq",
			                      (json_int_t)p->seq, "rtt_ms", (json_int_t)rtt);
			print_json_line(j);
			json_decref(j);
		} else {
			printf("pong from %s seq=%" PRId64 " rtt=%" PRId64 " ms\n", p->svc, p->seq,
			       rtt);
			fflush(stdout);
		}
	}
	if (ctl->sent < ctl->count)
		send_ping(ctl);
	else
		sg_loop_stop(ctl->loop);
}

static void
send_ping(struct ctl *ctl)
{
	struct sg_msg_svc_ping ping = {.seq = ++ctl->sent, .sent = sg_time_mono_ms()};
	struct sg_topic_args a = {0};
	snprintf(a.svc, sizeof(a.svc), "%s", ctl->target);
	if (sg_bus_request(ctl->bus, SG_MSG_svc_ping, &ping, &a, ctl->timeout_ms, on_pong, ctl) <
	    0) {
		fprintf(stderr, "sitegatectl: cannot send a ping to \"%s\"\n", ctl->target);
		ctl->exit_code = 1;
		sg_loop_stop(ctl->loop);
	}
}

static void
ping_synced(struct ctl *ctl)
{
	send_ping(ctl);
}

static int
cmd_ping(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"count", required_argument, NULL, 'n'},
	                                     {"timeout-ms", required_argument, NULL, 't'},
	                                     COMMON_LONG_OPTS,
	                                     {NULL, 0, NULL, 0}};
	int c;
	ctl->count = 1;
	ctl->timeout_ms = 30000;
	optind = 0; /* glibc: a full reset, options may follow operands */
	while ((c = getopt_long(argc, argv, "n:t:v", opts, NULL)) != -1) {
		long v = optarg ? strtol(optarg, NULL, 10) : 0;
		if (common_opt(ctl, c))
			continue;
		if (c == 'n' && v > 0)
			ctl->count = v;
		else if (c == 't' && v > 0)
			ctl->timeout_ms = v;
		else
			goto bad;
	}
	if (optind != argc - 1)
		goto bad;
	ctl->target = argv[optind];
	on_synced = ping_synced;
	return 0;
bad:
	fprintf(stderr, "sitegatectl: ping SERVICE [--count N>0] [--timeout-ms MS>0]\n");
	return EXIT_USAGE;
}

/* ---- wait ------------------------------------------------------------------ */

static void
on_wait_status(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct ctl *ctl = ud;
	const struct sg_msg_svc_status *st = in->msg;
	bool online = strcmp(st->state, "online") == 0;
	int left = 0;
	for (int i = 0; i < ctl->n_waiting; i++) {
		if (strcmp(ctl->waiting[i] + 1, in->args->svc) == 0)
			ctl->waiting[i][0] = online ? '+' : '-';
		left += ctl->waiting[i][0] != '+';
	}
	if (left == 0)
		sg_loop_stop(ctl->loop);
}

static int64_t
on_wait_timeout(struct sg_loop *loop, void *ud)
{
	struct ctl *ctl = ud;
	for (int i = 0; i < ctl->n_waiting; i++)
		if (ctl->waiting[i][0] != '+')
			fprintf(stderr, "sitegatectl: %s is not online\n", ctl->waiting[i] + 1);
	ctl->exit_code = 1;
	sg_loop_stop(loop);
	return -1;
}

static void
wait_synced(struct ctl *ctl)
{
}

static int
cmd_wait(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"timeout-ms", required_argument, NULL, 't'}, COMMON_LONG_OPTS, {NULL, 0, NULL, 0}};
	int64_t timeout_ms = 30000;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "t:v", opts, NULL)) != -1) {
		if (common_opt(ctl, c))
			continue;
		if (c != 't' || (timeout_ms = strtol(optarg, NULL, 10)) <= 0)
			goto bad;
	}
	if (optind >= argc)
		goto bad;
	ctl->n_waiting = argc - optind;
	ctl->waiting = calloc((size_t)ctl->n_waiting, sizeof(*ctl->waiting));
	for (int i = 0; ctl->waiting && i < ctl->n_waiting; i++) {
		/* "-name": not online yet; "+name": online */
		size_t n = strlen(argv[optind + i]);
		ctl->waiting[i] = malloc(n + 2);
		if (!ctl->waiting[i])
			return 1;
		ctl->waiting[i][0] = '-';
		memcpy(ctl->waiting[i] + 1, argv[optind + i], n + 1);
	}
	if (!ctl->waiting)
		return 1;
	on_synced = wait_synced;
	sg_bus_subscribe(ctl->bus, SG_MSG_svc_status, on_wait_status, ctl);
	ctl->wait_timer = sg_loop_timer_add(ctl->loop, timeout_ms, on_wait_timeout, ctl);
	return 0;
bad:
	fprintf(stderr, "sitegatectl: wait SERVICE... [--timeout-ms MS>0]\n");
	return EXIT_USAGE;
}

/* ---- sim ------------------------------------------------------------------- */

static void
on_sim_result(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct ctl *ctl = ud;
	const struct sg_msg_sim_result *r = reply;
	const char *error = status < 0 ? strerror(-status) : r->ok ? "" : r->error;

	if (status == -ECANCELED)
		return;
	if (ctl->json) {
		json_t *j = json_pack("{s:b}", "ok", status == 0 && r->ok);
		if (*error)
			json_object_set_new(j, "error", json_string(error));
		print_json_line(j);
		json_decref(j);
	} else if (status == 0 && r->ok) {
		printf("ok\n");
	}
	if (status < 0 || !r->ok) {
		if (!ctl->json)
			fprintf(stderr, "sitegatectl: sim %s/%d %s: %s\n", ctl->sim_args.cp,
			        ctl->sim_args.conn, ctl->sim_cmd.action,
			        status == -ETIMEDOUT ? "no answer (is sitegate-connector running?)"
			                             : error);
		ctl->exit_code = 1;
	}
	sg_loop_stop(ctl->loop);
}

static void
sim_synced(struct ctl *ctl)
{
	if (sg_bus_request(ctl->bus, SG_MSG_sim_cmd, &ctl->sim_cmd, &ctl->sim_args, ctl->timeout_ms,
	                   on_sim_result, ctl) < 0) {
		fprintf(stderr, "sitegatectl: cannot send the sim command\n");
		ctl->exit_code = 1;
		sg_loop_stop(ctl->loop);
	}
}

static int
cmd_sim(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"timeout-ms", required_argument, NULL, 't'}, COMMON_LONG_OPTS, {NULL, 0, NULL, 0}};
	char **op, *end;
	long conn;
	int c, n;

	ctl->timeout_ms = 5000;
	optind = 0; /* glibc: a full reset, options may follow operands */
	while ((c = getopt_long(argc, argv, "t:v", opts, NULL)) != -1) {
		if (common_opt(ctl, c))
			continue;
		if (c != 't' || (ctl->timeout_ms = strtol(optarg, NULL, 10)) <= 0)
			goto bad;
	}
	op = argv + optind; /* CP CONN ACTION [VALUE] */
	n = argc - optind;
	if (n < 3 || n > 4)
		goto bad;
	conn = strtol(op[1], &end, 10);
	if (*end || end == op[1] || conn < 0 || conn > SG_MAX_CONNECTORS) {
		fprintf(stderr, "sitegatectl: sim: \"%s\" is not a connector id (0..%d)\n", op[1],
		        SG_MAX_CONNECTORS);
		return EXIT_USAGE;
	}
	if (!sg_config_cp(&ctl->conf, op[0])) {
		fprintf(stderr, "sitegatectl: sim: no charge point \"%s\" in %s\n", op[0],
		        ctl->conf.path);
		return EXIT_USAGE;
	}
	if (strlen(op[2]) >= sizeof(ctl->sim_cmd.action) ||
	    (n == 4 && strlen(op[3]) >= sizeof(ctl->sim_cmd.value))) {
		fprintf(stderr, "sitegatectl: sim: ACTION or VALUE too long\n");
		return EXIT_USAGE;
	}
	snprintf(ctl->sim_args.cp, sizeof(ctl->sim_args.cp), "%s", op[0]);
	ctl->sim_args.conn = (int)conn;
	snprintf(ctl->sim_cmd.action, sizeof(ctl->sim_cmd.action), "%s", op[2]);
	if (n == 4)
		snprintf(ctl->sim_cmd.value, sizeof(ctl->sim_cmd.value), "%s", op[3]);
	on_synced = sim_synced;
	return 0;
bad:
	fprintf(stderr, "sitegatectl: sim CP CONN ACTION [VALUE] [--timeout-ms MS>0]\n");
	return EXIT_USAGE;
}

/* ---- main ------------------------------------------------------------------ */

static void
on_signal(struct sg_loop *loop, int signo, void *ud)
{
	sg_loop_stop(loop);
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *ctl, int argc, char **argv);
} commands[] = {
    {"status", cmd_status}, {"monitor", cmd_monitor}, {"ping", cmd_ping},
    {"wait", cmd_wait},     {"sim", cmd_sim},
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ctl ctl = {.exit_code = 0};
	const char *config_path = SG_CONFIG_DEFAULT_PATH;
	bool verbose = false;
	char *password = NULL;
	int c, rc;

	sg_log_init("sitegatectl", SG_LOG_WARNING);
	while ((c = getopt_long(argc, argv, "+c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	int cmd = -1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = (int)i;
	if (cmd < 0) {
		fprintf(stderr, "sitegatectl: unknown command \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (verbose)
		sg_log_set_level(SG_LOG_DEBUG);

	struct sg_conf_error err;
	if (sg_config_load(config_path, &ctl.conf, &err) < 0) {
		char text[768];
		sg_conf_error_format(&err, text, sizeof(text));
		fprintf(stderr, "sitegatectl: configuration error: %s\n", text);
		return SG_EXIT_CONFIG;
	}
	if (ctl.conf.broker.password_dir[0] &&
	    sg_service_read_password(ctl.conf.broker.password_dir, "ctl", &password) < 0) {
		rc = SG_EXIT_CONFIG;
		goto out;
	}
	snprintf(ctl.client_id, sizeof(ctl.client_id), "sitegate-ctl-%d", (int)getpid());
	snprintf(ctl.marker, sizeof(ctl.marker), "%s/ctl/sync/%s", ctl.conf.broker.prefix,
	         ctl.client_id);
	ctl.bus = sg_bus_new(&(struct sg_bus_config){
	    .host = ctl.conf.broker.host,
	    .port = ctl.conf.broker.port,
	    .user = password ? "sitegate-ctl" : NULL,
	    .password = password,
	    .client_id = ctl.client_id,
	    .prefix = ctl.conf.broker.prefix,
	    .keepalive_s = ctl.conf.broker.keepalive_s,
	});
	ctl.loop = sg_loop_new();
	if (!ctl.bus || !ctl.loop || !(ctl.att = sg_bus_loop_attach(ctl.bus, ctl.loop))) {
		fprintf(stderr, "sitegatectl: out of memory\n");
		rc = 1;
		goto out;
	}
	rc = commands[cmd].fn(&ctl, argc - optind, argv + optind);
	if (rc != 0)
		goto out;
	sg_bus_subscribe_raw(ctl.bus, ctl.marker, 1, on_marker, &ctl);
	sg_bus_on_connect(ctl.bus, on_connected, &ctl);
	sg_loop_on_signal(ctl.loop, SIGINT, on_signal, &ctl);
	sg_loop_on_signal(ctl.loop, SIGTERM, on_signal, &ctl);
	sg_bus_start(ctl.bus);
	rc = sg_loop_run(ctl.loop) < 0 ? 1 : ctl.exit_code;
	if (cmd == 2 && ctl.answered < ctl.count)
		rc = 1;
out:
	sg_bus_loop_detach(ctl.att);
	sg_bus_free(ctl.bus);
	sg_loop_free(ctl.loop);
	for (int i = 0; ctl.waiting && i < ctl.n_waiting; i++)
		free(ctl.waiting[i]);
	free(ctl.waiting);
	json_decref(ctl.services);
	json_decref(ctl.site);
	json_decref(ctl.lines);
	json_decref(ctl.cps);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	sg_config_free(&ctl.conf);
	return rc;
}
