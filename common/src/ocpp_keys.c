/* The OCPP configuration key table and value validation. Pure: no I/O, no
 * state; keys.c is the runtime that serves the keys. See ocpp_keys.h. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sitegate/config.h"
#include "sitegate/ocpp_keys.h"

#define BRIDGE "ocpp-bridge"
#define CONN   "connector"
#define METER  "meter"
#define AUTH   "auth"
#define SC     "smartcharge"
#define MAINT  "maintenance"

/* OCPP 1.6 Measurand, all 22 values. */
#define MEASURANDS                                                                                 \
	"Current.Export,Current.Import,Current.Offered,"                                           \
	"Energy.Active.Export.Register,Energy.Active.Import.Register,"                             \
	"Energy.Reactive.Export.Register,Energy.Reactive.Import.Register,"                         \
	"Energy.Active.Export.Interval,Energy.Active.Import.Interval,"                             \
	"Energy.Reactive.Export.Interval,Energy.Reactive.Import.Interval,"                         \
	"Frequency,Power.Active.Export,Power.Active.Import,Power.Factor,Power.Offered,"            \
	"Power.Reactive.Export,Power.Reactive.Import,RPM,SoC,Temperature,Voltage"
#define N_MEASURANDS 22
#define PROFILES                                                                                   \
	"Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
#define EAIR            "Energy.Active.Import.Register"
#define FILE_PROTOCOLS  "FTP,FTPS,HTTP,HTTPS"
#define RATE_UNITS      "Current,Power"
#define PHASE_ROTATIONS "NotApplicable,Unknown,RST,RTS,SRT,STR,TRS,TSR"

/* ConnectorPhaseRotation lists connector 0 and each connector once. */
#define MAX_ROTATIONS "17"
_Static_assert(SG_MAX_CONNECTORS + 1 == 17, "MAX_ROTATIONS is SG_MAX_CONNECTORS + 1");

#define STR_(x) #x
#define STR(x)  STR_(x)

/* Table rows; the trailing arguments add fields the macro leaves unset. */
#define KEY_BOOL(n, p, o, f, d, ...)                                                               \
	{                                                                                          \
		.name = n, .profile = p, .owner = o, .type = SG_KEY_BOOL, .flags = f, .def = d,    \
		.min = 0, .max = 1, __VA_ARGS__                                                    \
	}
#define KEY_INT(n, p, o, f, d, lo, hi, ...)                                                        \
	{                                                                                          \
		.name = n, .profile = p, .owner = o, .type = SG_KEY_INT, .flags = f, .def = d,     \
		.min = lo, .max = hi, __VA_ARGS__                                                  \
	}
#define KEY_STR(n, p, o, f, d, lo, hi, fmt, ...)                                                   \
	{                                                                                          \
		.name = n, .profile = p, .owner = o, .type = SG_KEY_STRING, .flags = f, .def = d,  \
		.min_len = lo, .max_len = hi, .format = fmt, __VA_ARGS__                           \
	}
#define KEY_CSL(n, p, o, f, d, mem, mk)                                                            \
	{                                                                                          \
		.name = n, .profile = p, .owner = o, .type = SG_KEY_CSL, .flags = f, .def = d,     \
		.format = SG_KEY_FMT_MEMBERS, .members = mem, .max_key = mk                        \
	}

#define CORE     SG_KEY_CORE
#define FW       SG_KEY_FIRMWARE_MANAGEMENT
#define LOCAL    SG_KEY_LOCAL_AUTH_LIST_MANAGEMENT
#define RESERVE  SG_KEY_RESERVATION
#define SMART    SG_KEY_SMART_CHARGING
#define SECURITY SG_KEY_SECURITY
#define PNC      SG_KEY_PNC
#define VENDOR   SG_KEY_VENDOR
#define RO       SG_KEYF_RO
#define NOLIMIT  SG_KEY_INT_MAX

/* Defaults follow the vendors' notes where the spec leaves a choice; ranges are
 * the spec's (0 only where the spec gives it a meaning). Sites narrow them with
 * struct sg_key_limits. */
const struct sg_key_def sg_key_defs[] = {
    /* 9.1 Core */
    KEY_BOOL("AllowOfflineTxForUnknownId", CORE, AUTH, 0, "false"),
    KEY_BOOL("AuthorizationCacheEnabled", CORE, AUTH, 0, "false"),
    KEY_BOOL("AuthorizeRemoteTxRequests", CORE, AUTH, 0, "false"),
    KEY_INT("BlinkRepeat", CORE, CONN, 0, "3", 0, NOLIMIT),
    /* 0: no clock-aligned data; intervals divide the day */
    KEY_INT("ClockAlignedDataInterval", CORE, METER, 0, "0", 0, 86400),
    KEY_INT("ConnectionTimeOut", CORE, CONN, 0, "60", 1, NOLIMIT),
    {.name = "ConnectorPhaseRotation",
     .profile = CORE,
     .owner = CONN,
     .type = SG_KEY_CSL,
     .def = "0.Unknown",
     .format = SG_KEY_FMT_PHASE_ROTATION,
     .members = PHASE_ROTATIONS,
     .max_key = "ConnectorPhaseRotationMaxLength"},
    KEY_INT("ConnectorPhaseRotationMaxLength", CORE, CONN, RO, MAX_ROTATIONS, 1,
            SG_MAX_CONNECTORS + 1),
    KEY_INT("GetConfigurationMaxKeys", CORE, BRIDGE, RO, "20", 1, NOLIMIT),
    KEY_INT("HeartbeatInterval", CORE, BRIDGE, 0, "30", 1, NOLIMIT),
    KEY_INT("LightIntensity", CORE, CONN, 0, "100", 0, 100), /* percent */
    KEY_BOOL("LocalAuthorizeOffline", CORE, AUTH, 0, "false"),
    KEY_BOOL("LocalPreAuthorize", CORE, AUTH, 0, "false"),
    KEY_INT("MaxEnergyOnInvalidId", CORE, AUTH, 0, "0", 0, NOLIMIT), /* Wh */
    KEY_CSL("MeterValuesAlignedData", CORE, METER, SG_KEYF_EMPTY_OK, EAIR, MEASURANDS,
            "MeterValuesAlignedDataMaxLength"),
    KEY_INT("MeterValuesAlignedDataMaxLength", CORE, METER, RO, STR(N_MEASURANDS), 1, N_MEASURANDS),
    KEY_CSL("MeterValuesSampledData", CORE, METER, SG_KEYF_EMPTY_OK, EAIR, MEASURANDS,
            "MeterValuesSampledDataMaxLength"),
    KEY_INT("MeterValuesSampledDataMaxLength", CORE, METER, RO, STR(N_MEASURANDS), 1, N_MEASURANDS),
    /* 0: no sampled data */
    KEY_INT("MeterValueSampleInterval", CORE, METER, 0, "60", 0, NOLIMIT),
    KEY_INT("MinimumStatusDuration", CORE, CONN, 0, "0", 0, NOLIMIT), /* seed 003: 0 */
    KEY_INT("NumberOfConnectors", CORE, CONN, RO, "1", 1, SG_MAX_CONNECTORS,
            .def_from = SG_KEY_DEF_CONNECTORS),
    KEY_INT("ResetRetries", CORE, BRIDGE, 0, "0", 0, NOLIMIT),
    KEY_BOOL("StopTransactionOnEVSideDisconnect", CORE, CONN, 0, "true"),
    KEY_BOOL("StopTransactionOnInvalidId", CORE, AUTH, 0, "true"),
    KEY_CSL("StopTxnAlignedData", CORE, METER, SG_KEYF_EMPTY_OK, EAIR, MEASURANDS,
            "StopTxnAlignedDataMaxLength"),
    KEY_INT("StopTxnAlignedDataMaxLength", CORE, METER, RO, STR(N_MEASURANDS), 1, N_MEASURANDS),
    KEY_CSL("StopTxnSampledData", CORE, METER, SG_KEYF_EMPTY_OK, EAIR, MEASURANDS,
            "StopTxnSampledDataMaxLength"),
    KEY_INT("StopTxnSampledDataMaxLength", CORE, METER, RO, STR(N_MEASURANDS), 1, N_MEASURANDS),
    KEY_CSL("SupportedFeatureProfiles", CORE, BRIDGE, RO, PROFILES, PROFILES,
            "SupportedFeatureProfilesMaxLength"),
    KEY_INT("SupportedFeatureProfilesMaxLength", CORE, BRIDGE, RO, "6", 1, 6),
    /* 0: no retries */
    KEY_INT("TransactionMessageAttempts", CORE, BRIDGE, 0, "3", 0, NOLIMIT),
    KEY_INT("TransactionMessageRetryInterval", CORE, BRIDGE, 0, "10", 1, NOLIMIT),
    KEY_BOOL("UnlockConnectorOnEVSideDisconnect", CORE, CONN, 0, "true"),
    /* 0: no client-side pings */
    KEY_INT("WebSocketPingInterval", CORE, BRIDGE, 0, "60", 0, NOLIMIT),

    /* Firmware Management (errata v4.0) */
    KEY_CSL("SupportedFileTransferProtocols", FW, MAINT, RO, FILE_PROTOCOLS, FILE_PROTOCOLS, NULL),

    /* 9.2 Local Auth List Management */
    KEY_BOOL("LocalAuthListEnabled", LOCAL, AUTH, 0, "false"),
    KEY_INT("LocalAuthListMaxLength", LOCAL, AUTH, RO, "2000", 1, NOLIMIT),
    KEY_INT("SendLocalListMaxLength", LOCAL, AUTH, RO, "25", 1, NOLIMIT),

    /* 9.3 Reservation */
    KEY_BOOL("ReserveConnectorZeroSupported", RESERVE, AUTH, RO, "true"),

    /* 9.4 Smart Charging */
    KEY_INT("ChargeProfileMaxStackLevel", SMART, SC, RO, "30", 0, NOLIMIT),
    KEY_CSL("ChargingScheduleAllowedChargingRateUnit", SMART, SC, RO, RATE_UNITS, RATE_UNITS, NULL),
    KEY_INT("ChargingScheduleMaxPeriods", SMART, SC, RO, "48", 1, NOLIMIT),
    KEY_BOOL("ConnectorSwitch3to1PhaseSupported", SMART, SC, RO, "false"),
    KEY_INT("MaxChargingProfilesInstalled", SMART, SC, RO, "30", 1, NOLIMIT),

    /* Security whitepaper */
    KEY_BOOL("AdditionalRootCertificateCheck", SECURITY, BRIDGE, RO, "false"),
    /* 16 to 20 bytes, hex-encoded; write-only */
    KEY_STR("AuthorizationKey", SECURITY, BRIDGE, SG_KEYF_SECRET, NULL, 32, 40, SG_KEY_FMT_HEX,
            .def_from = SG_KEY_DEF_AUTHORIZATION_KEY),
    KEY_INT("CertificateSignedMaxChainSize", SECURITY, BRIDGE, RO, "10000", 1, 10000),
    KEY_INT("CertificateStoreMaxLength", SECURITY, BRIDGE, RO, "5", 1, NOLIMIT),
    /* organizationName of the CSR: at most 64 characters in X.509 */
    KEY_STR("CpoName", SECURITY, BRIDGE, 0, "", 0, 64, SG_KEY_FMT_TEXT),
    KEY_INT("SecurityProfile", SECURITY, BRIDGE, SG_KEYF_RAISE_ONLY, "0", 0, 3,
            .def_from = SG_KEY_DEF_SECURITY_PROFILE),

    /* ISO 15118 Plug & Charge with OCPP 1.6: opt-in */
    KEY_BOOL("CentralContractValidationAllowed", PNC, AUTH, SG_KEYF_OPTIN, "false"),
    KEY_INT("CertSigningRepeatTimes", PNC, BRIDGE, SG_KEYF_OPTIN, "3", 0, NOLIMIT),
    KEY_INT("CertSigningWaitMinimum", PNC, BRIDGE, SG_KEYF_OPTIN, "60", 1, NOLIMIT),
    KEY_BOOL("ContractValidationOffline", PNC, AUTH, SG_KEYF_OPTIN, "false"),
    KEY_BOOL("ISO15118PnCEnabled", PNC, AUTH, SG_KEYF_OPTIN, "false"),

    /* Vendor keys */
    KEY_STR("VendorChargeBoxId", VENDOR, BRIDGE, SG_KEYF_VENDOR | SG_KEYF_EMPTY_DEFAULT, "", 0, 63,
            SG_KEY_FMT_TEXT, .def_from = SG_KEY_DEF_CP_ID),
    /* the id used to connect */
    KEY_STR("VendorChargePointName", VENDOR, BRIDGE,
            SG_KEYF_VENDOR | SG_KEYF_EMPTY_DEFAULT | SG_KEYF_REBOOT, "", 0, 63, SG_KEY_FMT_CP_ID,
            .def_from = SG_KEY_DEF_CP_ID),
    KEY_BOOL("UrlHasServerToken", VENDOR, BRIDGE, SG_KEYF_VENDOR, "false"),
    KEY_STR("VendorWebsocketSettings", VENDOR, BRIDGE,
            SG_KEYF_VENDOR | SG_KEYF_EMPTY_DEFAULT | SG_KEYF_REDACT, "", 0, SG_KEY_VALUE_MAX,
            SG_KEY_FMT_WS_SETTINGS, .def_from = SG_KEY_DEF_CSMS_URL),
    KEY_STR("OEM_NetState", VENDOR, BRIDGE, SG_KEYF_VENDOR | RO | SG_KEYF_VOLATILE, "{}", 2,
            SG_KEY_VALUE_MAX, SG_KEY_FMT_JSON_OBJECT),
    KEY_INT("GetFirmwareUpgradePercentages", VENDOR, MAINT, SG_KEYF_VENDOR | RO | SG_KEYF_VOLATILE,
            "0", 0, 100),
};

const size_t sg_key_n_defs = sizeof(sg_key_defs) / sizeof(sg_key_defs[0]);

static const char *const profile_names[SG_KEY__PROFILES] = {
    [SG_KEY_CORE] = "Core",
    [SG_KEY_FIRMWARE_MANAGEMENT] = "FirmwareManagement",
    [SG_KEY_LOCAL_AUTH_LIST_MANAGEMENT] = "LocalAuthListManagement",
    [SG_KEY_RESERVATION] = "Reservation",
    [SG_KEY_SMART_CHARGING] = "SmartCharging",
    [SG_KEY_REMOTE_TRIGGER] = "RemoteTrigger",
    [SG_KEY_SECURITY] = "Security",
    [SG_KEY_PNC] = "ISO15118PnC",
    [SG_KEY_VENDOR] = "Vendor",
};

const struct sg_key_def *
sg_key_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sg_key_n_defs; i++)
		if (strcasecmp(sg_key_defs[i].name, name) == 0)
			return &sg_key_defs[i];
	return NULL;
}

const char *
sg_key_profile_name(enum sg_key_profile profile)
{
	if ((int)profile < 0 || profile >= SG_KEY__PROFILES)
		return NULL;
	return profile_names[profile];
}

/* ---- parsing ---------------------------------------------------------- */

int
sg_key_parse_int(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, lim;

	if (s == NULL)
		return -EINVAL;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s == '\0')
		return -EINVAL;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (lim - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return 0;
}

int
sg_key_parse_bool(const char *s, bool *out)
{
	if (s != NULL && strcasecmp(s, "true") == 0) {
		*out = true;
		return 0;
	}
	if (s != NULL && strcasecmp(s, "false") == 0) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

/* ---- checking --------------------------------------------------------- */

static int __attribute__((format(printf, 3, 4)))
reject(char *why, size_t why_len, const char *fmt, ...)
{
	if (why != NULL && why_len > 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int
put(char *canonical, size_t len, const char *text, size_t n)
{
	if (canonical == NULL)
		return 0;
	if (n >= len)
		return -ENOSPC;
	memcpy(canonical, text, n);
	canonical[n] = '\0';
	return 0;
}

/* Finds tok (n bytes) in the comma separated list, case-insensitively; returns
 * its index and its spelling in the list, or -1. */
static int
member_index(const char *list, const char *tok, size_t n, const char **spelling)
{
	int idx = 0;

	while (list != NULL && *list) {
		const char *end = strchr(list, ',');
		size_t len = end ? (size_t)(end - list) : strlen(list);

		if (len == n && strncasecmp(list, tok, n) == 0) {
			if (spelling)
				*spelling = list;
			return idx;
		}
		if (end == NULL)
			break;
		list = end + 1;
		idx++;
	}
	return -1;
}

static void
range_of(const struct sg_key_def *def, const struct sg_key_limits *site, int64_t *min, int64_t *max)
{
	*min = def->min;
	*max = def->max;
	if (site != NULL && site->narrow) {
		*min = site->min;
		*max = site->max;
	}
}

/* The value of another key for this check: through the lookup, else its default. */
static bool
other_int(const struct sg_key_limits *site, const char *name, int64_t *out)
{
	const struct sg_key_def *d = sg_key_find(name);
	const char *v = NULL;

	if (site != NULL && site->lookup != NULL)
		v = site->lookup(name, site->lookup_ud);
	if (v == NULL && d != NULL)
		v = d->def;
	return v != NULL && sg_key_parse_int(v, out) == 0;
}

static int
check_bool(const struct sg_key_def *def, const struct sg_key_limits *site, const char *value,
           char *canonical, size_t len, char *why, size_t why_len)
{
	int64_t min, max;
	bool b;

	if (sg_key_parse_bool(value, &b) < 0)
		return reject(why, why_len, "not \"true\" or \"false\"");
	range_of(def, site, &min, &max);
	if ((int64_t)b < min || (int64_t)b > max)
		return reject(why, why_len, "only \"%s\" is allowed here", min ? "true" : "false");
	return put(canonical, len, b ? "true" : "false", b ? 4 : 5);
}

static int
check_int(const struct sg_key_def *def, const struct sg_key_limits *site, const char *value,
          char *canonical, size_t len, char *why, size_t why_len)
{
	char buf[24];
	int64_t v, min, max;
	int rc = sg_key_parse_int(value, &v);

	if (rc == -EINVAL)
		return reject(why, why_len, "not a decimal integer");
	range_of(def, site, &min, &max);
	if (rc == -ERANGE || v < min || v > max)
		return reject(why, why_len, "out of range [%" PRId64 ", %" PRId64 "]", min, max);
	rc = snprintf(buf, sizeof(buf), "%" PRId64, v);
	return put(canonical, len, buf, (size_t)rc);
}

static bool
is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

static bool
valid_host(const char *h, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return false;
		for (size_t i = 1; i < n - 1; i++)
			if (!(strchr("0123456789abcdefABCDEF:.", h[i]) != NULL && h[i] != '\0'))
				return false;
		return true;
	}
	if (h[0] == '-' || h[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* VendorWebsocketSettings: "WS,host,port,path,proto,user,pass" with an optional
 * trailing comma (the vendor writes one). Canonical: with the trailing comma,
 * "WS" and the protocol in their usual case, the port without leading zeros.
 * Reasons name fields, never their text: the last one is a password. */
static int
check_ws_settings(const char *value, char *canonical, size_t len, char *why, size_t why_len)
{
	const char *f[8];
	size_t fl[8], n = 0;
	const char *p = value;
	char port_buf[8], out[SG_KEY_VALUE_MAX + 2];
	int64_t port;
	const char *proto;

	for (;;) {
		const char *end = strchr(p, ',');

		if (n == 8)
			return reject(why, why_len, "has more than 7 fields");
		f[n] = p;
		fl[n] = end ? (size_t)(end - p) : strlen(p);
		n++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (n < 7 || (n == 8 && fl[7] != 0))
		return reject(why, why_len,
		              "must be 7 fields: WS,host,port,path,protocol,user,password");
	if (fl[0] != 2 || strncasecmp(f[0], "WS", 2) != 0)
		return reject(why, why_len, "field 1 must be \"WS\"");
	if (!valid_host(f[1], fl[1]))
		return reject(why, why_len, "field 2 is not a host name or address");
	if (fl[2] == 0 || fl[2] >= sizeof(port_buf))
		return reject(why, why_len, "field 3 is not a port (1 to 65535)");
	memcpy(port_buf, f[2], fl[2]);
	port_buf[fl[2]] = '\0';
	if (port_buf[0] == '-' || sg_key_parse_int(port_buf, &port) < 0 || port < 1 || port > 65535)
		return reject(why, why_len, "field 3 is not a port (1 to 65535)");
	if (fl[3] == 0 || f[3][0] != '/')
		return reject(why, why_len, "field 4 (path) must start with '/'");
	for (size_t i = 0; i < fl[3]; i++)
		if (f[3][i] == ' ' || f[3][i] == '?' || f[3][i] == '#')
			return reject(why, why_len, "field 4 (path) holds ' ', '?' or '#'");
	if (fl[4] == 7 && strncasecmp(f[4], "ocpp1.6", 7) == 0)
		proto = "ocpp1.6";
	else if (fl[4] == 8 && strncasecmp(f[4], "socpp1.6", 8) == 0)
		proto = "socpp1.6";
	else
		return reject(why, why_len,
		              "field 5 must be \"ocpp1.6\" (ws) or \"socpp1.6\" (wss)");
	if (memchr(f[5], ':', fl[5]) != NULL)
		return reject(why, why_len, "field 6 (user) must not hold ':'");
	int n_out =
	    snprintf(out, sizeof(out), "WS,%.*s,%" PRId64 ",%.*s,%s,%.*s,%.*s,", (int)fl[1], f[1],
	             port, (int)fl[3], f[3], proto, (int)fl[5], f[5], (int)fl[6], f[6]);
	if (n_out < 0 || (size_t)n_out > SG_KEY_VALUE_MAX)
		return reject(why, why_len, "longer than %d characters", SG_KEY_VALUE_MAX);
	return put(canonical, len, out, (size_t)n_out);
}

static int
check_string(const struct sg_key_def *def, const char *value, char *canonical, size_t len,
             char *why, size_t why_len)
{
	size_t n = strlen(value);

	if (n == 0 && (def->flags & SG_KEYF_EMPTY_DEFAULT))
		return put(canonical, len, "", 0);
	if (def->format == SG_KEY_FMT_HEX) {
		/* One message for every failure: it must not hint at the secret. */
		if (n < def->min_len || n > def->max_len || n % 2 != 0 || !is_hex(value))
			return reject(why, why_len,
			              "must be %zu to %zu hexadecimal digits, an even number",
			              def->min_len, def->max_len);
		return put(canonical, len, value, n);
	}
	if (n < def->min_len || n > def->max_len)
		return reject(why, why_len, "must be %zu to %zu characters long", def->min_len,
		              def->max_len);
	switch (def->format) {
	case SG_KEY_FMT_CP_ID:
		if (strpbrk(value, " /+#") != NULL)
			return reject(why, why_len, "must not hold ' ', '/', '+' or '#'");
		break;
	case SG_KEY_FMT_WS_SETTINGS:
		return check_ws_settings(value, canonical, len, why, why_len);
	case SG_KEY_FMT_JSON_OBJECT: {
		json_error_t err;
		json_t *j = json_loads(value, JSON_REJECT_DUPLICATES, &err);
		bool ok = json_is_object(j);

		json_decref(j);
		if (!ok)
			return reject(why, why_len, "not a JSON object");
		break;
	}
	default:
		break;
	}
	return put(canonical, len, value, n);
}

#define MAX_MEMBERS (SG_KEY_VALUE_MAX / 2 + 1)

static int
check_csl(const struct sg_key_def *def, const struct sg_key_limits *site, const char *value,
          char *canonical, size_t len, char *why, size_t why_len)
{
	const char *allowed = site && site->members ? site->members : def->members;
	char out[SG_KEY_VALUE_MAX + 1];
	int seen[MAX_MEMBERS];
	size_t n_seen = 0, o = 0;
	int64_t max_members = SG_KEY_INT_MAX, n_conn = SG_MAX_CONNECTORS;
	const char *p = value;

	if (def->max_key != NULL && !other_int(site, def->max_key, &max_members))
		max_members = 0; /* unknown bound: nothing fits */
	if (def->format == SG_KEY_FMT_PHASE_ROTATION)
		other_int(site, "NumberOfConnectors", &n_conn);

	p += strspn(p, " \t");
	if (*p == '\0') {
		if (def->flags & SG_KEYF_EMPTY_OK)
			return put(canonical, len, "", 0);
		return reject(why, why_len, "must not be empty");
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *spelling = NULL;
		size_t slen;
		int id;

		/* Blanks around a member are tolerated (vendors write "A, B"). */
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0)
			return reject(why, why_len, "has an empty member");
		if (def->format == SG_KEY_FMT_PHASE_ROTATION) {
			const char *dot = memchr(p, '.', n);
			char num[8];
			int64_t conn;
			size_t nl = dot ? (size_t)(dot - p) : 0;
			int rot =
			    dot ? member_index(def->members, dot + 1, n - nl - 1, &spelling) : -1;

			if (dot == NULL || nl == 0 || nl >= sizeof(num) || rot < 0)
				return reject(
				    why, why_len,
				    "member \"%.*s\" is not <connector>.<rotation> with a "
				    "rotation of " PHASE_ROTATIONS,
				    (int)n, p);
			memcpy(num, p, nl);
			num[nl] = '\0';
			if (num[0] == '-' || sg_key_parse_int(num, &conn) < 0 || conn > n_conn)
				return reject(why, why_len,
				              "member \"%.*s\": no connector %s (connectors 0 to "
				              "%" PRId64 ")",
				              (int)n, p, num, n_conn);
			id = (int)conn;
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%d.", o ? "," : "",
			                      (int)conn);
			slen = strcspn(spelling, ",");
		} else {
			const char *table_spelling = NULL;

			if (member_index(def->members, p, n, &table_spelling) < 0)
				return reject(why, why_len, "\"%.*s\" is not a valid member",
				              (int)n, p);
			id = member_index(allowed, p, n, &spelling);
			if (id < 0)
				return reject(why, why_len, "\"%.*s\" is not supported here",
				              (int)n, p);
			spelling = table_spelling;
			slen = strcspn(spelling, ",");
			if (o > 0)
				out[o++] = ',';
		}
		for (size_t i = 0; i < n_seen; i++)
			if (seen[i] == id)
				return reject(why, why_len, "\"%.*s\" is listed twice", (int)n, p);
		if ((int64_t)n_seen + 1 > max_members)
			return reject(why, why_len, "more than %" PRId64 " members (%s)",
			              max_members, def->max_key ? def->max_key : "limit");
		if (n_seen == MAX_MEMBERS || o + slen >= sizeof(out))
			return reject(why, why_len, "too long");
		seen[n_seen++] = id;
		memcpy(out + o, spelling, slen);
		o += slen;
		out[o] = '\0';
		if (end == NULL)
			break;
		p = end + 1;
	}
	return put(canonical, len, out, o);
}

int
sg_key_check(const struct sg_key_def *def, const struct sg_key_limits *site, const char *value,
             char *canonical, size_t len, char *why, size_t why_len)
{
	size_t n;

	if (why != NULL && why_len > 0)
		why[0] = '\0';
	if (def == NULL || value == NULL)
		return reject(why, why_len, "no value");
	n = strlen(value);
	if (n > SG_KEY_VALUE_MAX)
		return reject(why, why_len, "longer than %d characters", SG_KEY_VALUE_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
			return reject(why, why_len,
			              "holds a character that is not printable ASCII");
	switch (def->type) {
	case SG_KEY_BOOL:
		return check_bool(def, site, value, canonical, len, why, why_len);
	case SG_KEY_INT:
		return check_int(def, site, value, canonical, len, why, why_len);
	case SG_KEY_STRING:
		return check_string(def, value, canonical, len, why, why_len);
	case SG_KEY_CSL:
		return check_csl(def, site, value, canonical, len, why, why_len);
	}
	return reject(why, why_len, "unknown key type");
}

int
sg_key_limits_check(const struct sg_key_def *def, const struct sg_key_limits *site, char *why,
                    size_t why_len)
{
	if (site == NULL)
		return 0;
	if (site->narrow) {
		if (def->type != SG_KEY_INT && def->type != SG_KEY_BOOL)
			return reject(why, why_len, "only integer and boolean keys have a range");
		if (site->min > site->max || site->min < def->min || site->max > def->max)
			return reject(why, why_len,
			              "range [%" PRId64 ", %" PRId64 "] is not within [%" PRId64
			              ", %" PRId64 "]",
			              site->min, site->max, def->min, def->max);
	}
	if (site->members != NULL) {
		if (def->format != SG_KEY_FMT_MEMBERS)
			return reject(why, why_len, "the key has no list of members to narrow");
		/* The subset must itself be a valid list of the key's members. */
		struct sg_key_limits plain = {0};
		struct sg_key_def as_list = *def;
		char inner[256];

		as_list.max_key = NULL;
		as_list.flags &= ~(unsigned)SG_KEYF_EMPTY_OK;
		if (sg_key_check(&as_list, &plain, site->members, NULL, 0, inner, sizeof(inner)) <
		    0)
			return reject(why, why_len, "members: %s", inner);
		if (strpbrk(site->members, " \t") != NULL)
			return reject(why, why_len, "members: no blanks, please");
	}
	if (site->def != NULL) {
		char inner[256];
		struct sg_key_limits ctx = *site;

		if (def->flags & SG_KEYF_SECRET)
			return reject(why, why_len, "a secret key takes no site default");
		ctx.def = NULL;
		if (sg_key_check(def, &ctx, site->def, NULL, 0, inner, sizeof(inner)) < 0)
			return reject(why, why_len, "default \"%s\": %s", site->def, inner);
	}
	return 0;
}

struct sg_key_limits
sg_key_override_limits(const struct sg_key_override_conf *o, const struct sg_key_def *def)
{
	bool has_min = o->min != SG_KEY_UNSET_MIN, has_max = o->max != SG_KEY_UNSET_MAX;
	return (struct sg_key_limits){
	    .def = o->def[0] ? o->def : NULL,
	    .narrow = has_min || has_max,
	    .min = has_min ? o->min : def->min,
	    .max = has_max ? o->max : def->max,
	    .members = o->members[0] ? o->members : NULL,
	};
}
