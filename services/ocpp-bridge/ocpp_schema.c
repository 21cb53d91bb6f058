/* The OCPP 1.6J messages as data: one table per message, written from the official JSON schemas
 * (node_modules/ocpp-rpc/lib/schemas/ocpp1_6.json, errata applied). The names follow the data
 * types of the OCPP 1.6 specification (chapter 7) and of the Security Whitepaper.
 * tests/test_ocpp_schema.c fails when these tables and the schema file disagree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp_schema.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The tables are laid out by hand, one entry per line: clang-format would pack them. */
/* clang-format off */
#define OPT       0   /* an optional property */
#define REQ       1   /* a required property */
#define REQ_AT(n) (n) /* required, n-th in the schema's "required" list (see ocpp_schema.h) */

#define STRING(max)   {.kind = OCPP_TYPE_STRING, .max_length = (max)}
#define ENUM(values)  {.kind = OCPP_TYPE_STRING, .enumeration = (values)}
#define OBJECT(props) {.kind = OCPP_TYPE_OBJECT, .properties = (props), \
		       .n_properties = ARRAY_SIZE(props)}
#define ARRAY(item)   {.kind = OCPP_TYPE_ARRAY, .items = (item)}

/* ---- simple types ---- */

static const struct ocpp_type t_string = STRING(0);
static const struct ocpp_type t_ci_string20 = STRING(20); /* also IdToken */
static const struct ocpp_type t_ci_string25 = STRING(25);
static const struct ocpp_type t_ci_string50 = STRING(50);
static const struct ocpp_type t_ci_string255 = STRING(255);
static const struct ocpp_type t_ci_string500 = STRING(500);
static const struct ocpp_type t_string40 = STRING(40); /* Security Whitepaper string[n] */
static const struct ocpp_type t_string128 = STRING(128);
static const struct ocpp_type t_string512 = STRING(512);
static const struct ocpp_type t_string800 = STRING(800);
static const struct ocpp_type t_string5500 = STRING(5500);
static const struct ocpp_type t_string10000 = STRING(10000);
static const struct ocpp_type t_integer = {.kind = OCPP_TYPE_INTEGER};
static const struct ocpp_type t_boolean = {.kind = OCPP_TYPE_BOOLEAN};
/* a decimal with at most one digit after the point (charging schedule limits) */
static const struct ocpp_type t_decimal = {.kind = OCPP_TYPE_NUMBER, .multiple_of = 0.1};
static const struct ocpp_type t_date_time = {.kind = OCPP_TYPE_STRING,
					      .format = OCPP_FORMAT_DATE_TIME};
static const struct ocpp_type t_any_uri = {.kind = OCPP_TYPE_STRING, .format = OCPP_FORMAT_URI};
static const struct ocpp_type empty_message = {.kind = OCPP_TYPE_OBJECT};

/* ---- enumerations ---- */

/* CancelReservationStatus, ClearCacheStatus, GetCompositeScheduleStatus, RemoteStartStopStatus,
 * ResetStatus, CertificateSignedStatusEnumType, GenericStatusEnumType */
static const char *const e_accepted_rejected[] = {"Accepted", "Rejected", NULL};
static const char *const e_authorization_status[] = {
	"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx", NULL};
static const char *const e_availability_type[] = {"Inoperative", "Operative", NULL};
static const char *const e_availability_status[] = {"Accepted", "Rejected", "Scheduled", NULL};
static const char *const e_certificate_use[] = {
	"CentralSystemRootCertificate", "ManufacturerRootCertificate", NULL};
static const char *const e_charge_point_error_code[] = {
	"ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature",
	"InternalError", "LocalListConflict", "NoError", "OtherError", "OverCurrentFailure",
	"PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage",
	"OverVoltage", "WeakSignal", NULL};
static const char *const e_charge_point_status[] = {
	"Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing",
	"Reserved", "Unavailable", "Faulted", NULL};
static const char *const e_charging_profile_kind[] = {"Absolute", "Recurring", "Relative", NULL};
static const char *const e_charging_profile_purpose[] = {
	"ChargePointMaxProfile", "TxDefaultProfile", "TxProfile", NULL};
static const char *const e_charging_profile_status[] = {
	"Accepted", "Rejected", "NotSupported", NULL};
static const char *const e_charging_rate_unit[] = {"A", "W", NULL};
static const char *const e_clear_charging_profile_status[] = {"Accepted", "Unknown", NULL};
static const char *const e_configuration_status[] = {
	"Accepted", "Rejected", "RebootRequired", "NotSupported", NULL};
static const char *const e_data_transfer_status[] = {
	"Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId", NULL};
static const char *const e_delete_certificate_status[] = {"Accepted", "Failed", "NotFound", NULL};
static const char *const e_diagnostics_status[] = {
	"Idle", "Uploaded", "UploadFailed", "Uploading", NULL};
static const char *const e_firmware_status[] = {
	"Downloaded", "DownloadFailed", "Downloading", "Idle", "InstallationFailed", "Installing",
	"Installed", NULL};
static const char *const e_get_installed_certificate_status[] = {"Accepted", "NotFound", NULL};
static const char *const e_hash_algorithm[] = {"SHA256", "SHA384", "SHA512", NULL};
static const char *const e_install_certificate_status[] = {"Accepted", "Failed", "Rejected", NULL};
static const char *const e_location[] = {"Cable", "EV", "Inlet", "Outlet", "Body", NULL};
static const char *const e_log[] = {"DiagnosticsLog", "SecurityLog", NULL};
static const char *const e_log_status[] = {"Accepted", "Rejected", "AcceptedCanceled", NULL};
static const char *const e_measurand[] = {
	"Energy.Active.Export.Register", "Energy.Active.Import.Register",
	"Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
	"Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
	"Energy.Reactive.Export.Interval", "Energy.Reactive.Import.Interval",
	"Power.Active.Export", "Power.Active.Import", "Power.Offered", "Power.Reactive.Export",
	"Power.Reactive.Import", "Power.Factor", "Current.Import", "Current.Export",
	"Current.Offered", "Voltage", "Frequency", "Temperature", "SoC", "RPM", NULL};
static const char *const e_message_trigger[] = {
	"BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
	"Heartbeat", "MeterValues", "StatusNotification", NULL};
static const char *const e_extended_message_trigger[] = { /* MessageTriggerEnumType */
	"BootNotification", "LogStatusNotification", "FirmwareStatusNotification", "Heartbeat",
	"MeterValues", "SignChargePointCertificate", "StatusNotification", NULL};
static const char *const e_phase[] = {
	"L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1", NULL};
static const char *const e_reading_context[] = {
	"Interruption.Begin", "Interruption.End", "Sample.Clock", "Sample.Periodic",
	"Transaction.Begin", "Transaction.End", "Trigger", "Other", NULL};
static const char *const e_reason[] = {
	"EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other", "PowerLoss", "Reboot",
	"Remote", "SoftReset", "UnlockCommand", "DeAuthorized", NULL};
static const char *const e_recurrency_kind[] = {"Daily", "Weekly", NULL};
static const char *const e_registration_status[] = {"Accepted", "Pending", "Rejected", NULL};
static const char *const e_reservation_status[] = {
	"Accepted", "Faulted", "Occupied", "Rejected", "Unavailable", NULL};
static const char *const e_reset_type[] = {"Hard", "Soft", NULL};
static const char *const e_signed_firmware_status[] = { /* FirmwareStatusEnumType */
	"Downloaded", "DownloadFailed", "Downloading", "DownloadScheduled", "DownloadPaused",
	"Idle", "InstallationFailed", "Installing", "Installed", "InstallRebooting",
	"InstallScheduled", "InstallVerificationFailed", "InvalidSignature", "SignatureVerified",
	NULL};
static const char *const e_trigger_message_status[] = {
	"Accepted", "Rejected", "NotImplemented", NULL};
static const char *const e_unit_of_measure[] = { /* both spellings of Celsius: errata */
	"Wh", "kWh", "varh", "kvarh", "W", "kW", "VA", "kVA", "var", "kvar", "A", "V", "K",
	"Celcius", "Celsius", "Fahrenheit", "Percent", NULL};
static const char *const e_unlock_status[] = {"Unlocked", "UnlockFailed", "NotSupported", NULL};
static const char *const e_update_firmware_status[] = { /* UpdateFirmwareStatusEnumType */
	"Accepted", "Rejected", "AcceptedCanceled", "InvalidCertificate", "RevokedCertificate",
	NULL};
static const char *const e_update_status[] = {
	"Accepted", "Failed", "NotSupported", "VersionMismatch", NULL};
static const char *const e_update_type[] = {"Differential", "Full", NULL};
static const char *const e_upload_log_status[] = {
	"BadMessage", "Idle", "NotSupportedOperation", "PermissionDenied", "Uploaded",
	"UploadFailure", "Uploading", NULL};
static const char *const e_value_format[] = {"Raw", "SignedData", NULL};

/* the enumerations used in more than one place */
static const struct ocpp_type t_accepted_rejected = ENUM(e_accepted_rejected);
static const struct ocpp_type t_authorization_status = ENUM(e_authorization_status);
static const struct ocpp_type t_certificate_use = ENUM(e_certificate_use);
static const struct ocpp_type t_charging_profile_purpose = ENUM(e_charging_profile_purpose);
static const struct ocpp_type t_charging_rate_unit = ENUM(e_charging_rate_unit);

/* a type used once, written where it is used */
#define ONCE(...) (&(const struct ocpp_type)__VA_ARGS__)

/* ---- composite types ---- */

static const struct ocpp_property id_tag_info[] = {
	{"expiryDate",             &t_date_time,                                OPT},
	{"parentIdTag",            &t_ci_string20,                              OPT},
	{"status",                 &t_authorization_status,                     REQ},
};
static const struct ocpp_type t_id_tag_info = OBJECT(id_tag_info);

static const struct ocpp_property authorization_data[] = {
	{"idTag",                  &t_ci_string20,                              REQ},
	{"idTagInfo",              &t_id_tag_info,                              OPT},
};

static const struct ocpp_property charging_schedule_period[] = {
	{"startPeriod",            &t_integer,                                  REQ},
	{"limit",                  &t_decimal,                                  REQ},
	{"numberPhases",           &t_integer,                                  OPT},
};

static const struct ocpp_property charging_schedule[] = {
	{"duration",               &t_integer,                                  OPT},
	{"startSchedule",          &t_date_time,                                OPT},
	{"chargingRateUnit",       &t_charging_rate_unit,                       REQ},
	{"chargingSchedulePeriod", ONCE(ARRAY(ONCE(OBJECT(charging_schedule_period)))), REQ},
	{"minChargingRate",        &t_decimal,                                  OPT},
};
static const struct ocpp_type t_charging_schedule = OBJECT(charging_schedule);

static const struct ocpp_property charging_profile[] = {
	{"chargingProfileId",      &t_integer,                                  REQ},
	{"transactionId",          &t_integer,                                  OPT},
	{"stackLevel",             &t_integer,                                  REQ},
	{"chargingProfilePurpose", &t_charging_profile_purpose,                 REQ},
	{"chargingProfileKind",    ONCE(ENUM(e_charging_profile_kind)),         REQ},
	{"recurrencyKind",         ONCE(ENUM(e_recurrency_kind)),               OPT},
	{"validFrom",              &t_date_time,                                OPT},
	{"validTo",                &t_date_time,                                OPT},
	{"chargingSchedule",       &t_charging_schedule,                        REQ},
};
static const struct ocpp_type t_charging_profile = OBJECT(charging_profile);

static const struct ocpp_property key_value[] = {
	{"key",                    &t_ci_string50,                              REQ},
	{"readonly",               &t_boolean,                                  REQ},
	{"value",                  &t_ci_string500,                             OPT},
};

static const struct ocpp_property sampled_value[] = {
	{"value",                  &t_string,                                   REQ},
	{"context",                ONCE(ENUM(e_reading_context)),               OPT},
	{"format",                 ONCE(ENUM(e_value_format)),                  OPT},
	{"measurand",              ONCE(ENUM(e_measurand)),                     OPT},
	{"phase",                  ONCE(ENUM(e_phase)),                         OPT},
	{"location",               ONCE(ENUM(e_location)),                      OPT},
	{"unit",                   ONCE(ENUM(e_unit_of_measure)),               OPT},
};

static const struct ocpp_property meter_value[] = {
	{"timestamp",              &t_date_time,                                REQ},
	{"sampledValue",           ONCE(ARRAY(ONCE(OBJECT(sampled_value)))),    REQ},
};
static const struct ocpp_type t_meter_value_list = ARRAY(ONCE(OBJECT(meter_value)));

/* Security Whitepaper */

static const struct ocpp_property certificate_hash_data[] = {
	{"hashAlgorithm",          ONCE(ENUM(e_hash_algorithm)),                REQ},
	{"issuerNameHash",         &t_string128,                                REQ},
	{"issuerKeyHash",          &t_string128,                                REQ},
	{"serialNumber",           &t_string40,                                 REQ},
};
static const struct ocpp_type t_certificate_hash_data = OBJECT(certificate_hash_data);

static const struct ocpp_property log_parameters[] = {
	{"remoteLocation",         &t_string512,                                REQ},
	{"oldestTimestamp",        &t_date_time,                                OPT},
	{"latestTimestamp",        &t_date_time,                                OPT},
};

static const struct ocpp_property firmware[] = {
	{"location",               &t_string512,                                REQ},
	{"retrieveDateTime",       &t_date_time,                                REQ},
	{"installDateTime",        &t_date_time,                                OPT},
	{"signingCertificate",     &t_string5500,                               REQ},
	{"signature",              &t_string800,                                REQ},
};

/* ---- messages, in the order of the action table ---- */

/* the .conf of CancelReservation, CertificateSigned, ClearCache, RemoteStartTransaction,
 * RemoteStopTransaction, Reset and SignCertificate */
static const struct ocpp_property status_accepted_rejected[] = {
	{"status",                 &t_accepted_rejected,                        REQ},
};

static const struct ocpp_property authorize_req[] = {
	{"idTag",                  &t_ci_string20,                              REQ},
};
static const struct ocpp_property authorize_conf[] = {
	{"idTagInfo",              &t_id_tag_info,                              REQ},
};

static const struct ocpp_property boot_notification_req[] = {
	{"chargePointVendor",      &t_ci_string20,                              REQ},
	{"chargePointModel",       &t_ci_string20,                              REQ},
	{"chargePointSerialNumber", &t_ci_string25,                             OPT},
	{"chargeBoxSerialNumber",  &t_ci_string25,                              OPT},
	{"firmwareVersion",        &t_ci_string50,                              OPT},
	{"iccid",                  &t_ci_string20,                              OPT},
	{"imsi",                   &t_ci_string20,                              OPT},
	{"meterType",              &t_ci_string25,                              OPT},
	{"meterSerialNumber",      &t_ci_string25,                              OPT},
};
static const struct ocpp_property boot_notification_conf[] = {
	{"status",                 ONCE(ENUM(e_registration_status)),           REQ},
	{"currentTime",            &t_date_time,                                REQ},
	{"interval",               &t_integer,                                  REQ},
};

static const struct ocpp_property cancel_reservation_req[] = {
	{"reservationId",          &t_integer,                                  REQ},
};

static const struct ocpp_property certificate_signed_req[] = {
	{"certificateChain",       &t_string10000,                              REQ},
};

static const struct ocpp_property change_availability_req[] = {
	{"connectorId",            &t_integer,                                  REQ},
	{"type",                   ONCE(ENUM(e_availability_type)),             REQ},
};
static const struct ocpp_property change_availability_conf[] = {
	{"status",                 ONCE(ENUM(e_availability_status)),           REQ},
};

static const struct ocpp_property change_configuration_req[] = {
	{"key",                    &t_ci_string50,                              REQ},
	{"value",                  &t_ci_string500,                             REQ},
};
static const struct ocpp_property change_configuration_conf[] = {
	{"status",                 ONCE(ENUM(e_configuration_status)),          REQ},
};

static const struct ocpp_property clear_charging_profile_req[] = {
	{"id",                     &t_integer,                                  OPT},
	{"connectorId",            &t_integer,                                  OPT},
	{"chargingProfilePurpose", &t_charging_profile_purpose,                 OPT},
	{"stackLevel",             &t_integer,                                  OPT},
};
static const struct ocpp_property clear_charging_profile_conf[] = {
	{"status",                 ONCE(ENUM(e_clear_charging_profile_status)), REQ},
};

static const struct ocpp_property data_transfer_req[] = {
	{"vendorId",               &t_ci_string255,                             REQ},
	{"messageId",              &t_ci_string50,                              OPT},
	{"data",                   &t_string,                                   OPT},
};
static const struct ocpp_property data_transfer_conf[] = {
	{"status",                 ONCE(ENUM(e_data_transfer_status)),          REQ},
	{"data",                   &t_string,                                   OPT},
};

static const struct ocpp_property delete_certificate_req[] = {
	{"certificateHashData",    &t_certificate_hash_data,                    REQ},
};
static const struct ocpp_property delete_certificate_conf[] = {
	{"status",                 ONCE(ENUM(e_delete_certificate_status)),     REQ},
};

static const struct ocpp_property diagnostics_status_notification_req[] = {
	{"status",                 ONCE(ENUM(e_diagnostics_status)),            REQ},
};

static const struct ocpp_property extended_trigger_message_req[] = {
	{"requestedMessage",       ONCE(ENUM(e_extended_message_trigger)),      REQ},
	{"connectorId",            &t_integer,                                  OPT},
};
/* also the .conf of ExtendedTriggerMessage */
static const struct ocpp_property trigger_message_conf[] = {
	{"status",                 ONCE(ENUM(e_trigger_message_status)),        REQ},
};

static const struct ocpp_property firmware_status_notification_req[] = {
	{"status",                 ONCE(ENUM(e_firmware_status)),               REQ},
};

static const struct ocpp_property get_composite_schedule_req[] = {
	{"connectorId",            &t_integer,                                  REQ},
	{"duration",               &t_integer,                                  REQ},
	{"chargingRateUnit",       &t_charging_rate_unit,                       OPT},
};
static const struct ocpp_property get_composite_schedule_conf[] = {
	{"status",                 &t_accepted_rejected,                        REQ},
	{"connectorId",            &t_integer,                                  OPT},
	{"scheduleStart",          &t_date_time,                                OPT},
	{"chargingSchedule",       &t_charging_schedule,                        OPT},
};

static const struct ocpp_type t_ci_string50_list = ARRAY(&t_ci_string50);
static const struct ocpp_property get_configuration_req[] = {
	{"key",                    &t_ci_string50_list,                         OPT},
};
static const struct ocpp_property get_configuration_conf[] = {
	{"configurationKey",       ONCE(ARRAY(ONCE(OBJECT(key_value)))),        OPT},
	{"unknownKey",             &t_ci_string50_list,                         OPT},
};

static const struct ocpp_property get_diagnostics_req[] = {
	{"location",               &t_any_uri,                                  REQ},
	{"retries",                &t_integer,                                  OPT},
	{"retryInterval",          &t_integer,                                  OPT},
	{"startTime",              &t_date_time,                                OPT},
	{"stopTime",               &t_date_time,                                OPT},
};
static const struct ocpp_property get_diagnostics_conf[] = {
	{"fileName",               &t_ci_string255,                             OPT},
};

static const struct ocpp_property get_installed_certificate_ids_req[] = {
	{"certificateType",        &t_certificate_use,                          REQ},
};
static const struct ocpp_property get_installed_certificate_ids_conf[] = {
	{"certificateHashData",    ONCE({.kind = OCPP_TYPE_ARRAY, .items = &t_certificate_hash_data,
					.min_items = 1}),                       OPT},
	{"status",                 ONCE(ENUM(e_get_installed_certificate_status)), REQ},
};

static const struct ocpp_property get_local_list_version_conf[] = {
	{"listVersion",            &t_integer,                                  REQ},
};

static const struct ocpp_property get_log_req[] = {
	{"log",                    ONCE(OBJECT(log_parameters)),                REQ_AT(3)},
	{"logType",                ONCE(ENUM(e_log)),                           REQ_AT(1)},
	{"requestId",              &t_integer,                                  REQ_AT(2)},
	{"retries",                &t_integer,                                  OPT},
	{"retryInterval",          &t_integer,                                  OPT},
};
static const struct ocpp_property get_log_conf[] = {
	{"status",                 ONCE(ENUM(e_log_status)),                    REQ},
	{"filename",               &t_ci_string255,                             OPT},
};

static const struct ocpp_property heartbeat_conf[] = {
	{"currentTime",            &t_date_time,                                REQ},
};

static const struct ocpp_property install_certificate_req[] = {
	{"certificateType",        &t_certificate_use,                          REQ},
	{"certificate",            &t_string5500,                               REQ},
};
static const struct ocpp_property install_certificate_conf[] = {
	{"status",                 ONCE(ENUM(e_install_certificate_status)),    REQ},
};

static const struct ocpp_property log_status_notification_req[] = {
	{"status",                 ONCE(ENUM(e_upload_log_status)),             REQ},
	{"requestId",              &t_integer,                                  OPT},
};

static const struct ocpp_property meter_values_req[] = {
	{"connectorId",            &t_integer,                                  REQ},
	{"transactionId",          &t_integer,                                  OPT},
	{"meterValue",             &t_meter_value_list,                         REQ},
};

static const struct ocpp_property remote_start_transaction_req[] = {
	{"connectorId",            &t_integer,                                  OPT},
	{"idTag",                  &t_ci_string20,                              REQ},
	{"chargingProfile",        &t_charging_profile,                         OPT},
};

static const struct ocpp_property remote_stop_transaction_req[] = {
	{"transactionId",          &t_integer,                                  REQ},
};

static const struct ocpp_property reserve_now_req[] = {
	{"connectorId",            &t_integer,                                  REQ},
	{"expiryDate",             &t_date_time,                                REQ},
	{"idTag",                  &t_ci_string20,                              REQ},
	{"parentIdTag",            &t_ci_string20,                              OPT},
	{"reservationId",          &t_integer,                                  REQ},
};
static const struct ocpp_property reserve_now_conf[] = {
	{"status",                 ONCE(ENUM(e_reservation_status)),            REQ},
};

static const struct ocpp_property reset_req[] = {
	{"type",                   ONCE(ENUM(e_reset_type)),                    REQ},
};

static const struct ocpp_property security_event_notification_req[] = {
	{"type",                   &t_ci_string50,                              REQ},
	{"timestamp",              &t_date_time,                                REQ},
	{"techInfo",               &t_ci_string255,                             OPT},
};

static const struct ocpp_property send_local_list_req[] = {
	{"listVersion",            &t_integer,                                  REQ},
	{"localAuthorizationList", ONCE(ARRAY(ONCE(OBJECT(authorization_data)))), OPT},
	{"updateType",             ONCE(ENUM(e_update_type)),                   REQ},
};
static const struct ocpp_property send_local_list_conf[] = {
	{"status",                 ONCE(ENUM(e_update_status)),                 REQ},
};

static const struct ocpp_property set_charging_profile_req[] = {
	{"connectorId",            &t_integer,                                  REQ},
	{"csChargingProfiles",     &t_charging_profile,                         REQ},
};
static const struct ocpp_property set_charging_profile_conf[] = {
	{"status",                 ONCE(ENUM(e_charging_profile_status)),       REQ},
};

static const struct ocpp_property sign_certificate_req[] = {
	{"csr",                    &t_string5500,                               REQ},
};

static const struct ocpp_property signed_firmware_status_notification_req[] = {
	{"status",                 ONCE(ENUM(e_signed_firmware_status)),        REQ},
	{"requestId",              &t_integer,                                  OPT},
};

static const struct ocpp_property signed_update_firmware_req[] = {
	{"retries",                &t_integer,                                  OPT},
	{"retryInterval",          &t_integer,                                  OPT},
	{"requestId",              &t_integer,                                  REQ},
	{"firmware",               ONCE(OBJECT(firmware)),                      REQ},
};
static const struct ocpp_property signed_update_firmware_conf[] = {
	{"status",                 ONCE(ENUM(e_update_firmware_status)),        REQ},
};

static const struct ocpp_property start_transaction_req[] = {
	{"connectorId",            &t_integer,                                  REQ},
	{"idTag",                  &t_ci_string20,                              REQ},
	{"meterStart",             &t_integer,                                  REQ},
	{"reservationId",          &t_integer,                                  OPT},
	{"timestamp",              &t_date_time,                                REQ},
};
static const struct ocpp_property start_transaction_conf[] = {
	{"idTagInfo",              &t_id_tag_info,                              REQ},
	{"transactionId",          &t_integer,                                  REQ},
};

static const struct ocpp_property status_notification_req[] = {
	{"connectorId",            &t_integer,                                  REQ},
	{"errorCode",              ONCE(ENUM(e_charge_point_error_code)),       REQ},
	{"info",                   &t_ci_string50,                              OPT},
	{"status",                 ONCE(ENUM(e_charge_point_status)),           REQ},
	{"timestamp",              &t_date_time,                                OPT},
	{"vendorId",               &t_ci_string255,                             OPT},
	{"vendorErrorCode",        &t_ci_string50,                              OPT},
};

static const struct ocpp_property stop_transaction_req[] = {
	{"idTag",                  &t_ci_string20,                              OPT},
	{"meterStop",              &t_integer,                                  REQ_AT(3)},
	{"timestamp",              &t_date_time,                                REQ_AT(2)},
	{"transactionId",          &t_integer,                                  REQ_AT(1)},
	{"reason",                 ONCE(ENUM(e_reason)),                        OPT},
	{"transactionData",        &t_meter_value_list,                         OPT},
};
static const struct ocpp_property stop_transaction_conf[] = {
	{"idTagInfo",              &t_id_tag_info,                              OPT},
};

static const struct ocpp_property trigger_message_req[] = {
	{"requestedMessage",       ONCE(ENUM(e_message_trigger)),               REQ},
	{"connectorId",            &t_integer,                                  OPT},
};

static const struct ocpp_property unlock_connector_req[] = {
	{"connectorId",            &t_integer,                                  REQ},
};
static const struct ocpp_property unlock_connector_conf[] = {
	{"status",                 ONCE(ENUM(e_unlock_status)),                 REQ},
};

static const struct ocpp_property update_firmware_req[] = {
	{"location",               &t_any_uri,                                  REQ},
	{"retries",                &t_integer,                                  OPT},
	{"retrieveDate",           &t_date_time,                                REQ},
	{"retryInterval",          &t_integer,                                  OPT},
};

/* ---- the actions, sorted by name for bsearch() ---- */

#define CORE        OCPP_PROFILE_CORE
#define FIRMWARE    OCPP_PROFILE_FIRMWARE_MANAGEMENT
#define LOCAL_LIST  OCPP_PROFILE_LOCAL_AUTH_LIST_MANAGEMENT
#define RESERVATION OCPP_PROFILE_RESERVATION
#define SMART       OCPP_PROFILE_SMART_CHARGING
#define TRIGGER     OCPP_PROFILE_REMOTE_TRIGGER
#define SECURITY    OCPP_PROFILE_SECURITY
#define CP          OCPP_CP_TO_CS /* the charge point sends the .req */
#define CS          OCPP_CS_TO_CP /* the central system sends the .req */
#define EMPTY       (&empty_message)
/* a message: the root object of a .req or .conf */
#define M(props)    ONCE(OBJECT(props))

static const struct ocpp_action actions[] = {
	{"Authorize", CORE, CP, M(authorize_req), M(authorize_conf)},
	{"BootNotification", CORE, CP, M(boot_notification_req), M(boot_notification_conf)},
	{"CancelReservation", RESERVATION, CS,
		M(cancel_reservation_req), M(status_accepted_rejected)},
	{"CertificateSigned", SECURITY, CS, M(certificate_signed_req), M(status_accepted_rejected)},
	{"ChangeAvailability", CORE, CS, M(change_availability_req), M(change_availability_conf)},
	{"ChangeConfiguration", CORE, CS,
		M(change_configuration_req), M(change_configuration_conf)},
	{"ClearCache", CORE, CS, EMPTY, M(status_accepted_rejected)},
	{"ClearChargingProfile", SMART, CS,
		M(clear_charging_profile_req), M(clear_charging_profile_conf)},
	{"DataTransfer", CORE, OCPP_BOTH_WAYS, M(data_transfer_req), M(data_transfer_conf)},
	{"DeleteCertificate", SECURITY, CS, M(delete_certificate_req), M(delete_certificate_conf)},
	{"DiagnosticsStatusNotification", FIRMWARE, CP,
		M(diagnostics_status_notification_req), EMPTY},
	{"ExtendedTriggerMessage", SECURITY, CS,
		M(extended_trigger_message_req), M(trigger_message_conf)},
	{"FirmwareStatusNotification", FIRMWARE, CP, M(firmware_status_notification_req), EMPTY},
	{"GetCompositeSchedule", SMART, CS,
		M(get_composite_schedule_req), M(get_composite_schedule_conf)},
	{"GetConfiguration", CORE, CS, M(get_configuration_req), M(get_configuration_conf)},
	{"GetDiagnostics", FIRMWARE, CS, M(get_diagnostics_req), M(get_diagnostics_conf)},
	{"GetInstalledCertificateIds", SECURITY, CS,
		M(get_installed_certificate_ids_req), M(get_installed_certificate_ids_conf)},
	{"GetLocalListVersion", LOCAL_LIST, CS, EMPTY, M(get_local_list_version_conf)},
	{"GetLog", SECURITY, CS, M(get_log_req), M(get_log_conf)},
	{"Heartbeat", CORE, CP, EMPTY, M(heartbeat_conf)},
	{"InstallCertificate", SECURITY, CS,
		M(install_certificate_req), M(install_certificate_conf)},
	{"LogStatusNotification", SECURITY, CP, M(log_status_notification_req), EMPTY},
	{"MeterValues", CORE, CP, M(meter_values_req), EMPTY},
	{"RemoteStartTransaction", CORE, CS,
		M(remote_start_transaction_req), M(status_accepted_rejected)},
	{"RemoteStopTransaction", CORE, CS,
		M(remote_stop_transaction_req), M(status_accepted_rejected)},
	{"ReserveNow", RESERVATION, CS, M(reserve_now_req), M(reserve_now_conf)},
	{"Reset", CORE, CS, M(reset_req), M(status_accepted_rejected)},
	{"SecurityEventNotification", SECURITY, CP, M(security_event_notification_req), EMPTY},
	{"SendLocalList", LOCAL_LIST, CS, M(send_local_list_req), M(send_local_list_conf)},
	{"SetChargingProfile", SMART, CS,
		M(set_charging_profile_req), M(set_charging_profile_conf)},
	{"SignCertificate", SECURITY, CP, M(sign_certificate_req), M(status_accepted_rejected)},
	{"SignedFirmwareStatusNotification", SECURITY, CP,
		M(signed_firmware_status_notification_req), EMPTY},
	{"SignedUpdateFirmware", SECURITY, CS,
		M(signed_update_firmware_req), M(signed_update_firmware_conf)},
	{"StartTransaction", CORE, CP, M(start_transaction_req), M(start_transaction_conf)},
	{"StatusNotification", CORE, CP, M(status_notification_req), EMPTY},
	{"StopTransaction", CORE, CP, M(stop_transaction_req), M(stop_transaction_conf)},
	{"TriggerMessage", TRIGGER, CS, M(trigger_message_req), M(trigger_message_conf)},
	{"UnlockConnector", CORE, CS, M(unlock_connector_req), M(unlock_connector_conf)},
	{"UpdateFirmware", FIRMWARE, CS, M(update_firmware_req), EMPTY},
};

/* clang-format on */

static int
compare_action(const void *key, const void *elem)
{
	const struct ocpp_action *action = elem;

	return strcmp(key, action->name);
}

const struct ocpp_action *
ocpp_action_find(const char *name)
{
	if (!name)
		return NULL;
	return bsearch(name, actions, ARRAY_SIZE(actions), sizeof(actions[0]), compare_action);
}

const struct ocpp_action *
ocpp_action_list(size_t *count)
{
	*count = ARRAY_SIZE(actions);
	return actions;
}

const char *
ocpp_profile_name(enum ocpp_profile profile)
{
	static const char *const names[] = {
	    [OCPP_PROFILE_CORE] = "Core",
	    [OCPP_PROFILE_FIRMWARE_MANAGEMENT] = "FirmwareManagement",
	    [OCPP_PROFILE_LOCAL_AUTH_LIST_MANAGEMENT] = "LocalAuthListManagement",
	    [OCPP_PROFILE_RESERVATION] = "Reservation",
	    [OCPP_PROFILE_SMART_CHARGING] = "SmartCharging",
	    [OCPP_PROFILE_REMOTE_TRIGGER] = "RemoteTrigger",
	    [OCPP_PROFILE_SECURITY] = "Security",
	};

	if ((unsigned)profile >= ARRAY_SIZE(names))
		return NULL;
	return names[profile];
}

/* ---- error codes ---- */

static const struct {
	const char *name;
	enum ocpp_error_code code;
} error_codes[] = {
    {"NotImplemented", OCPP_ERROR_NOT_IMPLEMENTED},
    {"NotSupported", OCPP_ERROR_NOT_SUPPORTED},
    {"InternalError", OCPP_ERROR_INTERNAL_ERROR},
    {"ProtocolError", OCPP_ERROR_PROTOCOL_ERROR},
    {"SecurityError", OCPP_ERROR_SECURITY_ERROR},
    {"FormationViolation", OCPP_ERROR_FORMATION_VIOLATION},
    {"PropertyConstraintViolation", OCPP_ERROR_PROPERTY_CONSTRAINT_VIOLATION},
    {"OccurenceConstraintViolation", OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION},
    {"TypeConstraintViolation", OCPP_ERROR_TYPE_CONSTRAINT_VIOLATION},
    {"GenericError", OCPP_ERROR_GENERIC_ERROR},
    /* accepted when parsing only; the wire spellings above come first */
    {"OccurrenceConstraintViolation", OCPP_ERROR_OCCURRENCE_CONSTRAINT_VIOLATION},
    {"FormatViolation", OCPP_ERROR_FORMATION_VIOLATION},
};

const char *
ocpp_error_code_name(enum ocpp_error_code code)
{
	for (size_t i = 0; i < ARRAY_SIZE(error_codes); i++) {
		if (error_codes[i].code == code)
			return error_codes[i].name;
	}
	return NULL;
}

int
ocpp_error_code_parse(const char *s, enum ocpp_error_code *code)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(error_codes); i++) {
		if (strcmp(s, error_codes[i].name) == 0) {
			*code = error_codes[i].code;
			return 0;
		}
	}
	return -EINVAL;
}
