/* The OCPP configuration key table and value checks (ocpp_keys.h): the table's
 * own consistency, then value tables per type, then site narrowing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "sitegate/ocpp_keys.h"

static const char *const owners[] = {"ocpp-bridge", "connector",   "meter",
                                     "auth",        "smartcharge", "maintenance"};

static const struct sg_key_def *
must_find(const char *name)
{
	const struct sg_key_def *def = sg_key_find(name);

	if (def == NULL)
		fail_msg("key %s is missing", name);
	return def;
}

/* ---- the table -------------------------------------------------------- */

static void
names_are_unique_and_valid(void **state)
{
	for (size_t i = 0; i < sg_key_n_defs; i++) {
		const char *n = sg_key_defs[i].name;

		assert_non_null(n);
		assert_true(strlen(n) > 0 && strlen(n) <= SG_KEY_NAME_MAX);
		assert_null(strpbrk(n, " /+#,"));
		for (size_t j = i + 1; j < sg_key_n_defs; j++)
			if (strcasecmp(n, sg_key_defs[j].name) == 0)
				fail_msg("%s is in the table twice", n);
	}
}

static void
find_is_case_insensitive(void **state)
{
	assert_ptr_equal(sg_key_find("heartbeatinterval"), sg_key_find("HeartbeatInterval"));
	/* a spelling some chargers use */
	assert_string_equal(must_find("WebsocketPingInterval")->name, "WebSocketPingInterval");
	assert_null(sg_key_find("NoSuchKey"));
	assert_null(sg_key_find(NULL));
	assert_null(sg_key_find(""));
}

static void
owners_and_profiles_are_valid(void **state)
{
	for (size_t i = 0; i < sg_key_n_defs; i++) {
		const struct sg_key_def *d = &sg_key_defs[i];
		bool ok = false;

		for (size_t o = 0; o < sizeof(owners) / sizeof(owners[0]); o++)
			ok |= d->owner != NULL && strcmp(d->owner, owners[o]) == 0;
		if (!ok)
			fail_msg("%s: owner \"%s\"", d->name, d->owner ? d->owner : "(null)");
		assert_non_null(sg_key_profile_name(d->profile));
		assert_int_not_equal(d->profile, SG_KEY_REMOTE_TRIGGER); /* it defines none */
		assert_true((d->flags & SG_KEYF_VENDOR) ==
		            (d->profile == SG_KEY_VENDOR ? (unsigned)SG_KEYF_VENDOR : 0u));
		assert_true((d->flags & SG_KEYF_OPTIN) ==
		            (d->profile == SG_KEY_PNC ? (unsigned)SG_KEYF_OPTIN : 0u));
	}
	assert_null(sg_key_profile_name(SG_KEY__PROFILES));
	/* SupportedFeatureProfiles lists exactly the six feature profiles. */
	const struct sg_key_def *sfp = must_find("SupportedFeatureProfiles");
	char expect[256] = "";
	for (int p = SG_KEY_CORE; p <= SG_KEY_REMOTE_TRIGGER; p++) {
		strcat(expect, p ? "," : "");
		strcat(expect, sg_key_profile_name((enum sg_key_profile)p));
	}
	assert_string_equal(sfp->members, expect);
	assert_string_equal(sfp->def, "Core,FirmwareManagement,LocalAuthListManagement,"
	                              "Reservation,SmartCharging,RemoteTrigger");
}

/* The owner assignment of the gateway's design, key by key. */
static void
owners_match_the_design(void **state)
{
	static const struct {
		const char *owner, *keys;
	} design[] = {
	    {"ocpp-bridge",
	     "HeartbeatInterval GetConfigurationMaxKeys ResetRetries TransactionMessageAttempts "
	     "TransactionMessageRetryInterval WebSocketPingInterval SupportedFeatureProfiles "
	     "SupportedFeatureProfilesMaxLength AuthorizationKey "
	     "SecurityProfile CpoName CertificateStoreMaxLength CertificateSignedMaxChainSize "
	     "AdditionalRootCertificateCheck VendorChargeBoxId VendorChargePointName "
	     "UrlHasServerToken VendorWebsocketSettings OEM_NetState"},
	    {"maintenance", "SupportedFileTransferProtocols GetFirmwareUpgradePercentages"},
	    {"connector", "ConnectionTimeOut MinimumStatusDuration NumberOfConnectors "
	                  "StopTransactionOnEVSideDisconnect UnlockConnectorOnEVSideDisconnect "
	                  "ConnectorPhaseRotation ConnectorPhaseRotationMaxLength LightIntensity "
	                  "BlinkRepeat"},
	    {"meter",
	     "MeterValueSampleInterval ClockAlignedDataInterval MeterValuesSampledData "
	     "MeterValuesSampledDataMaxLength MeterValuesAlignedData "
	     "MeterValuesAlignedDataMaxLength StopTxnSampledData StopTxnSampledDataMaxLength "
	     "StopTxnAlignedData StopTxnAlignedDataMaxLength"},
	    {"auth",
	     "AuthorizeRemoteTxRequests AuthorizationCacheEnabled AllowOfflineTxForUnknownId "
	     "LocalAuthorizeOffline LocalPreAuthorize StopTransactionOnInvalidId "
	     "MaxEnergyOnInvalidId LocalAuthListEnabled LocalAuthListMaxLength "
	     "SendLocalListMaxLength ReserveConnectorZeroSupported"},
	    {"smartcharge", "ChargeProfileMaxStackLevel ChargingScheduleAllowedChargingRateUnit "
	                    "ChargingScheduleMaxPeriods ConnectorSwitch3to1PhaseSupported "
	                    "MaxChargingProfilesInstalled"},
	};
	size_t listed = 0;

	for (size_t i = 0; i < sizeof(design) / sizeof(design[0]); i++) {
		char buf[1024], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", design[i].keys);
		for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			const struct sg_key_def *d = must_find(t);

			if (strcmp(d->owner, design[i].owner) != 0)
				fail_msg("%s is owned by %s, not %s", t, d->owner, design[i].owner);
			listed++;
		}
	}
	/* Every non-opt-in key is in the design. */
	size_t not_optin = 0;
	for (size_t i = 0; i < sg_key_n_defs; i++)
		not_optin += !(sg_key_defs[i].flags & SG_KEYF_OPTIN);
	assert_int_equal(listed, not_optin);
}

/* Every key of OCPP 1.6 chapter 9 (with errata) and of the security whitepaper. */
static void
the_standard_keys_are_all_there(void **state)
{
	static const struct {
		enum sg_key_profile profile;
		const char *keys;
	} spec[] = {
	    {SG_KEY_CORE,
	     "AllowOfflineTxForUnknownId AuthorizationCacheEnabled AuthorizeRemoteTxRequests "
	     "BlinkRepeat ClockAlignedDataInterval ConnectionTimeOut ConnectorPhaseRotation "
	     "ConnectorPhaseRotationMaxLength GetConfigurationMaxKeys HeartbeatInterval "
	     "LightIntensity LocalAuthorizeOffline LocalPreAuthorize MaxEnergyOnInvalidId "
	     "MeterValuesAlignedData MeterValuesAlignedDataMaxLength MeterValuesSampledData "
	     "MeterValuesSampledDataMaxLength MeterValueSampleInterval MinimumStatusDuration "
	     "NumberOfConnectors ResetRetries StopTransactionOnEVSideDisconnect "
	     "StopTransactionOnInvalidId StopTxnAlignedData StopTxnAlignedDataMaxLength "
	     "StopTxnSampledData StopTxnSampledDataMaxLength SupportedFeatureProfiles "
	     "SupportedFeatureProfilesMaxLength TransactionMessageAttempts "
	     "TransactionMessageRetryInterval UnlockConnectorOnEVSideDisconnect "
	     "WebSocketPingInterval"},
	    {SG_KEY_FIRMWARE_MANAGEMENT, "SupportedFileTransferProtocols"},
	    {SG_KEY_LOCAL_AUTH_LIST_MANAGEMENT,
	     "LocalAuthListEnabled LocalAuthListMaxLength SendLocalListMaxLength"},
	    {SG_KEY_RESERVATION, "ReserveConnectorZeroSupported"},
	    {SG_KEY_SMART_CHARGING,
	     "ChargeProfileMaxStackLevel ChargingScheduleAllowedChargingRateUnit "
	     "ChargingScheduleMaxPeriods ConnectorSwitch3to1PhaseSupported "
	     "MaxChargingProfilesInstalled"},
	    {SG_KEY_SECURITY, "AdditionalRootCertificateCheck AuthorizationKey "
	                      "CertificateSignedMaxChainSize CertificateStoreMaxLength CpoName "
	                      "SecurityProfile"},
	    {SG_KEY_PNC, "CentralContractValidationAllowed CertSigningRepeatTimes "
	                 "CertSigningWaitMinimum ContractValidationOffline ISO15118PnCEnabled"},
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		char buf[1200], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", spec[i].keys);
		for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			const struct sg_key_def *d = must_find(t);

			assert_string_equal(d->name, t); /* the spec's spelling */
			if (d->profile != spec[i].profile)
				fail_msg("%s: profile %s", t, sg_key_profile_name(d->profile));
			n++;
		}
	}
	assert_int_equal(n, 34 + 1 + 3 + 1 + 5 + 6 + 5);
	/* and the six vendor keys */
	assert_int_equal(sg_key_n_defs, n + 6);
}

static void
lists_name_an_int_max_length_key(void **state)
{
	for (size_t i = 0; i < sg_key_n_defs; i++) {
		const struct sg_key_def *d = &sg_key_defs[i];
		const struct sg_key_def *m;

		if (d->type != SG_KEY_CSL) {
			assert_null(d->max_key);
			continue;
		}
		assert_non_null(d->members);
		if (d->max_key == NULL)
			continue;
		m = must_find(d->max_key);
		assert_int_equal(m->type, SG_KEY_INT);
		assert_true(m->flags & SG_KEYF_RO);
		/* the owner resolves the bound from its own keys */
		assert_string_equal(m->owner, d->owner);
		assert_true(m->min >= 1);
	}
	/* the lists the spec bounds with a *MaxLength key */
	assert_string_equal(must_find("MeterValuesSampledData")->max_key,
	                    "MeterValuesSampledDataMaxLength");
	assert_string_equal(must_find("StopTxnAlignedData")->max_key,
	                    "StopTxnAlignedDataMaxLength");
	assert_string_equal(must_find("ConnectorPhaseRotation")->max_key,
	                    "ConnectorPhaseRotationMaxLength");
}

static void
defaults_pass_their_own_check(void **state)
{
	for (size_t i = 0; i < sg_key_n_defs; i++) {
		const struct sg_key_def *d = &sg_key_defs[i];
		char canon[SG_KEY_VALUE_MAX + 1], why[200];

		assert_true(d->max_len <= SG_KEY_VALUE_MAX);
		if (d->type == SG_KEY_INT || d->type == SG_KEY_BOOL)
			assert_true(d->min <= d->max);
		if (d->def == NULL) {
			/* only a secret starts without a value */
			assert_true(d->flags & SG_KEYF_SECRET);
			continue;
		}
		if (sg_key_check(d, NULL, d->def, canon, sizeof(canon), why, sizeof(why)) != 0)
			fail_msg("default \"%s\" of %s: %s", d->def, d->name, why);
		assert_string_equal(canon, d->def); /* defaults are written canonically */
	}
}

static void
flags_are_coherent(void **state)
{
	for (size_t i = 0; i < sg_key_n_defs; i++) {
		const struct sg_key_def *d = &sg_key_defs[i];

		if (d->flags & SG_KEYF_SECRET)
			assert_false(d->flags & (SG_KEYF_RO | SG_KEYF_VOLATILE | SG_KEYF_VENDOR));
		if (d->flags & SG_KEYF_RAISE_ONLY)
			assert_int_equal(d->type, SG_KEY_INT);
		if (d->flags & SG_KEYF_VOLATILE)
			assert_true(d->flags & SG_KEYF_RO);
		if (d->flags & SG_KEYF_EMPTY_OK)
			assert_int_equal(d->type, SG_KEY_CSL);
	}
	assert_true(must_find("AuthorizationKey")->flags & SG_KEYF_SECRET);
	assert_true(must_find("VendorChargePointName")->flags & SG_KEYF_REBOOT);
	assert_true(must_find("OEM_NetState")->flags & SG_KEYF_RO);
	assert_false(must_find("UrlHasServerToken")->flags & SG_KEYF_RO);
	assert_string_equal(must_find("MeterValueSampleInterval")->def, "60");
	assert_string_equal(must_find("ClockAlignedDataInterval")->def, "0");
}

/* ---- values ----------------------------------------------------------- */

#define HEX32 "00112233445566778899aabbccddeeff"
#define HEX40 "00112233445566778899AABBCCDDEEFF00112233"
#define C63   "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define ALL_MEASURANDS                                                                             \
	"Current.Export,Current.Import,Current.Offered,Energy.Active.Export.Register,"             \
	"Energy.Active.Import.Register,Energy.Reactive.Export.Register,"                           \
	"Energy.Reactive.Import.Register,Energy.Active.Export.Interval,"                           \
	"Energy.Active.Import.Interval,Energy.Reactive.Export.Interval,"                           \
	"Energy.Reactive.Import.Interval,Frequency,Power.Active.Export,Power.Active.Import,"       \
	"Power.Factor,Power.Offered,Power.Reactive.Export,Power.Reactive.Import,RPM,SoC,"          \
	"Temperature,Voltage"
#define WS_SEED "WS,cpam3.x-cheng.net,443,/ocpp/,socpp1.6,,,"

struct vcase {
	const char *key, *value;
	const char *canonical; /* NULL: rejected */
	const char *why;       /* a part of the reason, or NULL */
};

static const struct vcase value_cases[] = {
    /* bool */
    {"AuthorizeRemoteTxRequests", "true", "true", NULL},
    {"AuthorizeRemoteTxRequests", "FALSE", "false", NULL},
    {"LocalPreAuthorize", "True", "true", NULL},
    {"LocalPreAuthorize", "1", NULL, "\"true\" or \"false\""},
    {"LocalPreAuthorize", "yes", NULL, NULL},
    {"LocalPreAuthorize", "", NULL, NULL},
    {"LocalPreAuthorize", " true", NULL, NULL},
    {"UrlHasServerToken", "true", "true", NULL},
    /* int */
    {"MeterValueSampleInterval", "1", "1", NULL},
    {"MeterValueSampleInterval", "0", "0", NULL}, /* no sampled data */
    {"MeterValueSampleInterval", "-1", NULL, "out of range"},
    {"MeterValueSampleInterval", "abc", NULL, "not a decimal integer"},
    {"MeterValueSampleInterval", "1.5", NULL, "not a decimal integer"},
    {"MeterValueSampleInterval", "", NULL, "not a decimal integer"},
    {"MeterValueSampleInterval", "-", NULL, NULL},
    {"MeterValueSampleInterval", "060", "60", NULL},
    {"MeterValueSampleInterval", "+60", NULL, NULL},
    {"MeterValueSampleInterval", " 60", NULL, NULL},
    {"MeterValueSampleInterval", "60s", NULL, NULL},
    {"MeterValueSampleInterval", "0x10", NULL, NULL},
    {"MeterValueSampleInterval", "99999999999999999999", NULL, "out of range"},
    {"MeterValueSampleInterval", "2147483647", "2147483647", NULL},
    {"MeterValueSampleInterval", "2147483648", NULL, "out of range"},
    {"ClockAlignedDataInterval", "0", "0", NULL},
    {"ClockAlignedDataInterval", "900", "900", NULL},
    {"ClockAlignedDataInterval", "86400", "86400", NULL},
    {"ClockAlignedDataInterval", "86401", NULL, "out of range [0, 86400]"},
    {"HeartbeatInterval", "0", NULL, NULL},
    {"HeartbeatInterval", "1", "1", NULL},
    {"WebSocketPingInterval", "0", "0", NULL}, /* no pings */
    {"ConnectionTimeOut", "0", NULL, NULL},
    {"TransactionMessageAttempts", "0", "0", NULL},
    {"LightIntensity", "100", "100", NULL},
    {"LightIntensity", "101", NULL, NULL},
    {"SecurityProfile", "3", "3", NULL},
    {"SecurityProfile", "4", NULL, "out of range [0, 3]"},
    /* CSL */
    {"MeterValuesSampledData", "Energy.Active.Import.Register,Power.Active.Import",
     "Energy.Active.Import.Register,Power.Active.Import", NULL},
    {"MeterValuesSampledData", "energy.active.import.register, power.active.import",
     "Energy.Active.Import.Register,Power.Active.Import", NULL},
    {"MeterValuesSampledData", "", "", NULL}, /* no measurands */
    {"StopTxnAlignedData", " ", "", NULL},
    {"MeterValuesSampledData", ALL_MEASURANDS, ALL_MEASURANDS, NULL},
    {"MeterValuesSampledData", ALL_MEASURANDS ",Voltage", NULL, "twice"},
    {"MeterValuesSampledData", "Energy.Active.Import.Register,Power.Bogus", NULL,
     "\"Power.Bogus\" is not a valid member"},
    {"MeterValuesSampledData", "Voltage.L1", NULL, "not a valid member"},
    {"MeterValuesAlignedData", "Voltage,Voltage", NULL, "twice"},
    {"MeterValuesAlignedData", "Voltage,voltage", NULL, "twice"},
    {"StopTxnSampledData", "Voltage,,Current.Import", NULL, "empty member"},
    {"StopTxnSampledData", "Voltage,", NULL, "empty member"},
    {"StopTxnSampledData", ",Voltage", NULL, "empty member"},
    {"SupportedFeatureProfiles", "", NULL, "must not be empty"},
    {"SupportedFeatureProfiles", "Core,Security", NULL, "not a valid member"},
    {"SupportedFeatureProfiles", "core,smartcharging", "Core,SmartCharging", NULL},
    {"ChargingScheduleAllowedChargingRateUnit", "current,power", "Current,Power", NULL},
    {"ChargingScheduleAllowedChargingRateUnit", "Power", "Power", NULL},
    {"ChargingScheduleAllowedChargingRateUnit", "Watts", NULL, NULL},
    {"SupportedFileTransferProtocols", "ftp,https", "FTP,HTTPS", NULL},
    {"SupportedFileTransferProtocols", "SFTP", NULL, NULL},
    {"ConnectorPhaseRotation", "0.RST", "0.RST", NULL},
    {"ConnectorPhaseRotation", "0.rst, 1.RTS", "0.RST,1.RTS", NULL},
    {"ConnectorPhaseRotation", "0.NotApplicable", "0.NotApplicable", NULL},
    {"ConnectorPhaseRotation", "0.RST,0.RTS", NULL, "twice"},
    {"ConnectorPhaseRotation", "2.RST", NULL, "no connector 2"}, /* default: 1 connector */
    {"ConnectorPhaseRotation", "1.XYZ", NULL, NULL},
    {"ConnectorPhaseRotation", "RST", NULL, NULL},
    {"ConnectorPhaseRotation", "a.RST", NULL, NULL},
    {"ConnectorPhaseRotation", "-1.RST", NULL, NULL},
    /* string */
    {"AuthorizationKey", HEX32, HEX32, NULL},
    {"AuthorizationKey", HEX40, HEX40, NULL}, /* case kept: it is the password */
    {"AuthorizationKey", HEX32 "0", NULL, "32 to 40 hexadecimal digits"},
    {"AuthorizationKey", HEX40 "00", NULL, NULL},
    {"AuthorizationKey", "0011223344556677889900112233445", NULL, NULL},
    {"AuthorizationKey", "zz112233445566778899aabbccddeeff", NULL, NULL},
    {"AuthorizationKey", "", NULL, NULL},
    {"VendorChargeBoxId", C63, C63, NULL},
    {"VendorChargeBoxId", C63 "x", NULL, "0 to 63 characters"},
    {"VendorChargeBoxId", "", "", NULL}, /* restores the default */
    {"VendorChargePointName", "CP-1_a.b", "CP-1_a.b", NULL},
    {"VendorChargePointName", "CP 1", NULL, NULL},
    {"VendorChargePointName", "CP/1", NULL, NULL},
    {"CpoName", "Sitegate Charging B.V.", "Sitegate Charging B.V.", NULL},
    {"CpoName", C63 "x", C63 "x", NULL},
    {"CpoName", C63 "xy", NULL, NULL},
    {"CpoName", "a\tb", NULL, "not printable ASCII"},
    {"CpoName", "caf\xc3\xa9", NULL, "not printable ASCII"},
    {"VendorWebsocketSettings", WS_SEED, WS_SEED, NULL},
    {"VendorWebsocketSettings", "WS,cpam3.x-cheng.net,80,/ocpp/,ocpp1.6,,,",
     "WS,cpam3.x-cheng.net,80,/ocpp/,ocpp1.6,,,", NULL},
    {"VendorWebsocketSettings", "ws,Host,0443,/o,SOCPP1.6,user,pass",
     "WS,Host,443,/o,socpp1.6,user,pass,", NULL},
    {"VendorWebsocketSettings", "WS,[::1],8080,/,ocpp1.6,,,", "WS,[::1],8080,/,ocpp1.6,,,", NULL},
    {"VendorWebsocketSettings", "WS,host,0,/o,ocpp1.6,,,", NULL, "port"},
    {"VendorWebsocketSettings", "WS,host,65536,/o,ocpp1.6,,,", NULL, "port"},
    {"VendorWebsocketSettings", "XS,host,443,/o,ocpp1.6,,,", NULL, "\"WS\""},
    {"VendorWebsocketSettings", "WS,,443,/o,ocpp1.6,,,", NULL, "host"},
    {"VendorWebsocketSettings", "WS,host,443,o,ocpp1.6,,,", NULL, "path"},
    {"VendorWebsocketSettings", "WS,host,443,/o,ocpp2.0.1,,,", NULL, "field 5"},
    {"VendorWebsocketSettings", "WS,host,443,/o,ocpp1.6,us:er,,", NULL, "user"},
    {"VendorWebsocketSettings", "WS,host,443", NULL, "7 fields"},
    {"VendorWebsocketSettings", "WS,host,443,/o,ocpp1.6,u,p,x", NULL, "7 fields"},
    {"VendorWebsocketSettings", "WS,host,443,/o,ocpp1.6,u,p,,", NULL, "more than 7"},
    {"OEM_NetState", "{\"connectivity\":\"WiFi\",\"wifi-rssi\":\"-43\"}",
     "{\"connectivity\":\"WiFi\",\"wifi-rssi\":\"-43\"}", NULL},
    {"OEM_NetState", "[1]", NULL, "JSON object"},
    {"OEM_NetState", "{", NULL, NULL},
    {"GetFirmwareUpgradePercentages", "100", "100", NULL},
    {"GetFirmwareUpgradePercentages", "101", NULL, NULL},
};

static void
values_are_checked(void **state)
{
	size_t accepted = 0;

	for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		const struct vcase *c = &value_cases[i];
		char canon[SG_KEY_VALUE_MAX + 1] = "?", why[200] = "";
		int rc = sg_key_check(must_find(c->key), NULL, c->value, canon, sizeof(canon), why,
		                      sizeof(why));

		if (c->canonical != NULL) {
			if (rc != 0)
				fail_msg("%s = \"%s\": rejected: %s", c->key, c->value, why);
			assert_string_equal(canon, c->canonical);
			accepted++;
		} else {
			if (rc != -EINVAL)
				fail_msg("%s = \"%s\": accepted as \"%s\"", c->key, c->value,
				         canon);
			assert_true(why[0] != '\0');
			if (c->why != NULL && strstr(why, c->why) == NULL)
				fail_msg("%s = \"%s\": reason \"%s\" lacks \"%s\"", c->key,
				         c->value, why, c->why);
		}
	}
	assert_true(sizeof(value_cases) / sizeof(value_cases[0]) >= 40);
	assert_true(accepted > 10);
}

static void
long_values_are_rejected(void **state)
{
	char big[SG_KEY_VALUE_MAX + 2], why[100];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sg_key_check(must_find("CpoName"), NULL, big, NULL, 0, why, sizeof(why)),
	                 -EINVAL);
	assert_non_null(strstr(why, "500"));
	/* a canonical buffer that is too small */
	char small[3];
	assert_int_equal(sg_key_check(must_find("HeartbeatInterval"), NULL, "300", small,
	                              sizeof(small), why, sizeof(why)),
	                 -ENOSPC);
}

static void
secret_reasons_do_not_quote_the_value(void **state)
{
	static const char *const bad[] = {HEX32 "0", "g" HEX32, HEX40 "aa", "q1", ""};
	char why[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sg_key_check(must_find("AuthorizationKey"), NULL, bad[i], NULL, 0,
		                              why, sizeof(why)),
		                 -EINVAL);
		if (bad[i][0])
			assert_null(strstr(why, bad[i]));
		assert_null(strstr(why, "0011223344"));
	}
	/* nor the password field of VendorWebsocketSettings */
	assert_int_equal(sg_key_check(must_find("VendorWebsocketSettings"), NULL,
	                              "WS,h,1,/o,ocpp1.6,us:er,Secr3tPass", NULL, 0, why,
	                              sizeof(why)),
	                 -EINVAL);
	assert_null(strstr(why, "Secr3tPass"));
}

static void
parsers_are_strict(void **state)
{
	int64_t v;
	bool b;

	assert_int_equal(sg_key_parse_int("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(sg_key_parse_int("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(sg_key_parse_int("9223372036854775808", &v), -ERANGE);
	assert_int_equal(sg_key_parse_int("12 ", &v), -EINVAL);
	assert_int_equal(sg_key_parse_int(NULL, &v), -EINVAL);
	assert_int_equal(sg_key_parse_bool("tRuE", &b), 0);
	assert_true(b);
	assert_int_equal(sg_key_parse_bool("t", &b), -EINVAL);
}

/* ---- narrowing -------------------------------------------------------- */

static const char *
fake_lookup(const char *name, void *ud)
{
	const char *const *kv = ud;

	for (; kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static void
a_site_narrows_the_range(void **state)
{
	const struct sg_key_def *d = must_find("MeterValueSampleInterval");
	struct sg_key_limits site = {.narrow = true, .min = 10, .max = 86400};
	char canon[32], why[200];

	assert_int_equal(sg_key_limits_check(d, &site, why, sizeof(why)), 0);
	assert_int_equal(sg_key_check(d, &site, "5", canon, sizeof(canon), why, sizeof(why)),
	                 -EINVAL);
	assert_non_null(strstr(why, "[10, 86400]"));
	assert_int_equal(sg_key_check(d, &site, "0", canon, sizeof(canon), why, sizeof(why)),
	                 -EINVAL);
	assert_int_equal(sg_key_check(d, &site, "10", canon, sizeof(canon), why, sizeof(why)), 0);
	assert_int_equal(sg_key_check(d, &site, "86401", canon, sizeof(canon), why, sizeof(why)),
	                 -EINVAL);
	/* without the site, 5 is fine */
	assert_int_equal(sg_key_check(d, NULL, "5", canon, sizeof(canon), why, sizeof(why)), 0);
}

static void
site_limits_are_checked(void **state)
{
	const struct sg_key_def *msi = must_find("MeterValueSampleInterval");
	const struct sg_key_def *cad = must_find("ClockAlignedDataInterval");
	const struct sg_key_def *mvs = must_find("MeterValuesSampledData");
	char why[200];

	/* wider than the spec's */
	struct sg_key_limits wide = {.narrow = true, .min = 0, .max = 100000};
	assert_int_equal(sg_key_limits_check(cad, &wide, why, sizeof(why)), -EINVAL);
	struct sg_key_limits upside_down = {.narrow = true, .min = 10, .max = 5};
	assert_int_equal(sg_key_limits_check(msi, &upside_down, why, sizeof(why)), -EINVAL);
	/* a default outside the narrowed range */
	struct sg_key_limits bad_def = {.narrow = true, .min = 10, .max = 86400, .def = "5"};
	assert_int_equal(sg_key_limits_check(msi, &bad_def, why, sizeof(why)), -EINVAL);
	struct sg_key_limits good_def = {.narrow = true, .min = 10, .max = 86400, .def = "900"};
	assert_int_equal(sg_key_limits_check(msi, &good_def, why, sizeof(why)), 0);
	/* a range on a list, members on an int */
	struct sg_key_limits range_on_list = {.narrow = true, .min = 0, .max = 1};
	assert_int_equal(sg_key_limits_check(mvs, &range_on_list, why, sizeof(why)), -EINVAL);
	struct sg_key_limits members_on_int = {.members = "Voltage"};
	assert_int_equal(sg_key_limits_check(msi, &members_on_int, why, sizeof(why)), -EINVAL);
	/* members must be the key's */
	struct sg_key_limits bogus = {.members = "Voltage,Bogus"};
	assert_int_equal(sg_key_limits_check(mvs, &bogus, why, sizeof(why)), -EINVAL);
	struct sg_key_limits blanks = {.members = "Voltage, SoC"};
	assert_int_equal(sg_key_limits_check(mvs, &blanks, why, sizeof(why)), -EINVAL);
	/* a secret takes no site default */
	struct sg_key_limits secret_def = {.def = HEX32};
	assert_int_equal(
	    sg_key_limits_check(must_find("AuthorizationKey"), &secret_def, why, sizeof(why)),
	    -EINVAL);
	assert_int_equal(sg_key_limits_check(msi, NULL, why, sizeof(why)), 0);
}

static void
a_site_narrows_the_members(void **state)
{
	const struct sg_key_def *d = must_find("MeterValuesSampledData");
	struct sg_key_limits site = {
	    .members = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"};
	char canon[SG_KEY_VALUE_MAX + 1], why[200];

	assert_int_equal(sg_key_limits_check(d, &site, why, sizeof(why)), 0);
	assert_int_equal(sg_key_check(d, &site, "voltage,current.import", canon, sizeof(canon), why,
	                              sizeof(why)),
	                 0);
	assert_string_equal(canon, "Voltage,Current.Import");
	assert_int_equal(sg_key_check(d, &site, "SoC", canon, sizeof(canon), why, sizeof(why)),
	                 -EINVAL);
	assert_non_null(strstr(why, "not supported here"));
	/* a boolean narrowed to false */
	struct sg_key_limits only_false = {.narrow = true, .min = 0, .max = 0};
	const struct sg_key_def *b = must_find("LocalPreAuthorize");
	assert_int_equal(
	    sg_key_check(b, &only_false, "true", canon, sizeof(canon), why, sizeof(why)), -EINVAL);
	assert_int_equal(
	    sg_key_check(b, &only_false, "false", canon, sizeof(canon), why, sizeof(why)), 0);
}

static void
max_length_keys_bound_lists(void **state)
{
	const char *const kv[] = {"MeterValuesSampledDataMaxLength",
	                          "2",
	                          "NumberOfConnectors",
	                          "2",
	                          "ConnectorPhaseRotationMaxLength",
	                          "3",
	                          NULL};
	struct sg_key_limits ctx = {.lookup = fake_lookup, .lookup_ud = (void *)kv};
	const struct sg_key_def *mvs = must_find("MeterValuesSampledData");
	const struct sg_key_def *cpr = must_find("ConnectorPhaseRotation");
	char canon[SG_KEY_VALUE_MAX + 1], why[200];

	assert_int_equal(
	    sg_key_check(mvs, &ctx, "Voltage,SoC", canon, sizeof(canon), why, sizeof(why)), 0);
	assert_int_equal(
	    sg_key_check(mvs, &ctx, "Voltage,SoC,RPM", canon, sizeof(canon), why, sizeof(why)),
	    -EINVAL);
	assert_non_null(strstr(why, "more than 2 members (MeterValuesSampledDataMaxLength)"));
	/* without a lookup: the MaxLength key's default (22) */
	assert_int_equal(
	    sg_key_check(mvs, NULL, "Voltage,SoC,RPM", canon, sizeof(canon), why, sizeof(why)), 0);
	/* connectors come from NumberOfConnectors */
	assert_int_equal(
	    sg_key_check(cpr, &ctx, "0.RST,1.RST,2.TSR", canon, sizeof(canon), why, sizeof(why)),
	    0);
	assert_string_equal(canon, "0.RST,1.RST,2.TSR");
	assert_int_equal(sg_key_check(cpr, &ctx, "3.RST", canon, sizeof(canon), why, sizeof(why)),
	                 -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_are_unique_and_valid),
	    cmocka_unit_test(find_is_case_insensitive),
	    cmocka_unit_test(owners_and_profiles_are_valid),
	    cmocka_unit_test(owners_match_the_design),
	    cmocka_unit_test(the_standard_keys_are_all_there),
	    cmocka_unit_test(lists_name_an_int_max_length_key),
	    cmocka_unit_test(defaults_pass_their_own_check),
	    cmocka_unit_test(flags_are_coherent),
	    cmocka_unit_test(values_are_checked),
	    cmocka_unit_test(long_values_are_rejected),
	    cmocka_unit_test(secret_reasons_do_not_quote_the_value),
	    cmocka_unit_test(parsers_are_strict),
	    cmocka_unit_test(a_site_narrows_the_range),
	    cmocka_unit_test(site_limits_are_checked),
	    cmocka_unit_test(a_site_narrows_the_members),
	    cmocka_unit_test(max_length_keys_bound_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
