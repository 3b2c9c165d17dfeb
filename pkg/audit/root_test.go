package audit

import (
	"net/http"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// TestRootChecks runs the root checks end to end against moto_server, whose credential report
// has no <root_account> row: a proxy in front of moto answers GetCredentialReport with reports
// in AWS's documented format (testdata/credreport), which go through the same parser, and, for
// the virtual-device case, ListVirtualMFADevices with AWS's answer for a root virtual device.
// Every other call (GenerateCredentialReport, GetAccountAuthorizationDetails, …) is moto's.
func TestRootChecks(t *testing.T) {
	srv := startMoto(t)
	now := mustTime("2025-06-01T12:00:00Z")
	type want map[string]Status // check → status of its result on the root ARN
	for _, tc := range []struct {
		name       string
		report     string
		rootDevice bool // ListVirtualMFADevices shows a virtual device on root
		want       want
	}{
		{
			name: "root key, no MFA, used last week", report: "root-key-no-mfa.csv",
			want: want{"root-access-key": Fail, "root-mfa": Fail, "root-hardware-mfa": Fail, "root-usage": Fail},
		},
		{
			name: "hardware MFA, last used 7 months ago", report: "root-mfa-old-use.csv",
			want: want{"root-access-key": Pass, "root-mfa": Pass, "root-hardware-mfa": Pass, "root-usage": Pass},
		},
		{
			name: "virtual MFA on root", report: "root-mfa-old-use.csv", rootDevice: true,
			want: want{"root-access-key": Pass, "root-mfa": Pass, "root-hardware-mfa": Fail, "root-usage": Pass},
		},
		{
			name: "password never used (no_information)", report: "root-never-used.csv",
			want: want{"root-access-key": Pass, "root-mfa": Pass, "root-hardware-mfa": Pass, "root-usage": Pass},
		},
		{
			name: "no root credentials (centralized root access)", report: "root-no-credentials.csv",
			want: want{"root-access-key": Pass, "root-mfa": NotApplicable, "root-hardware-mfa": NotApplicable, "root-usage": Pass},
		},
		{
			name: "second root key active, first key used recently", report: "root-second-key.csv",
			want: want{"root-access-key": Fail, "root-mfa": Pass, "root-hardware-mfa": Pass, "root-usage": Fail},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset(t)
			proxy := faultproxy.Start(t, srv.Endpoint)
			proxy.Inject(faultproxy.Op("GetCredentialReport"), credentialReportAnswer(readFixture(t, tc.report)))
			if tc.rootDevice {
				proxy.Inject(faultproxy.Op("ListVirtualMFADevices"), rootVirtualMFAAnswer(mototest.AccountID))
			}
			report := mustAuditor(t, fastOptions(now)).Account(t.Context(), NewClients(mototest.Config(t, proxy.URL)))
			for check, status := range tc.want {
				r := find(t, report.Results, check, ":root")
				if r.Status != status {
					t.Errorf("%s: %s (%s), want %s", check, r.Status, r.Detail, status)
				}
				if r.Account != mototest.AccountID || r.Resource != "arn:aws:iam::"+mototest.AccountID+":root" {
					t.Errorf("%s: account %s, resource %s", check, r.Account, r.Resource)
				}
			}
			if got := proxy.Counts("ListVirtualMFADevices").Seen; (tc.want["root-mfa"] == Pass) != (got == 1) {
				t.Errorf("ListVirtualMFADevices called %d times; it is needed (once) exactly when root has MFA", got)
			}
		})
	}
}

// TestRootChecksWithoutRootRow: moto's own report, which lacks the root row, makes the root
// checks errors that say so, and the user checks still run.
func TestRootChecksWithoutRootRow(t *testing.T) {
	srv := startMoto(t)
	report := mustAuditor(t, fastOptions(mustTime("2025-06-01T12:00:00Z"))).Account(t.Context(), NewClients(srv.Config(t)))
	for _, check := range []string{"root-access-key", "root-mfa", "root-hardware-mfa", "root-usage"} {
		r := find(t, report.Results, check, ":root")
		if r.Status != Error || r.Detail != "the credential report has no <root_account> row" {
			t.Errorf("%s: %s %q", check, r.Status, r.Detail)
		}
	}
	if r := find(t, report.Results, "password-length", ":root"); r.Status != Fail {
		t.Errorf("password-length: %s, want fail (moto has no password policy)", r.Status)
	}
}

// TestCentralizedRootAccess answers ListOrganizationsFeatures (which moto lacks) as IAM does.
// The error codes come both as the SDK's model names them (…Exception) and as the API
// reference does; either is understood.
func TestCentralizedRootAccess(t *testing.T) {
	srv := startMoto(t)
	for _, tc := range []struct {
		name   string
		answer *faultproxy.Fault
		want   Status
	}{
		{"root credentials management on", ptr(orgFeaturesAnswer("RootCredentialsManagement", "RootSessions")), Pass},
		{"root sessions only", ptr(orgFeaturesAnswer("RootSessions")), Fail},
		{"no features", ptr(orgFeaturesAnswer()), Fail},
		{"not in an organisation", ptr(faultproxy.QueryError(http.StatusBadRequest, "OrganizationNotFoundException", "no organization")), NotApplicable},
		{"not in an organisation (API reference's code)", ptr(faultproxy.QueryError(http.StatusBadRequest, "OrganizationNotFound", "no organization")), NotApplicable},
		{"member account", ptr(faultproxy.QueryError(http.StatusBadRequest, "AccountNotManagementOrDelegatedAdministratorException", "not the management account")), NotApplicable},
		{"IAM trusted access off", ptr(faultproxy.QueryError(http.StatusBadRequest, "ServiceAccessNotEnabledException", "trusted access")), Fail},
		{"not all features", ptr(faultproxy.QueryError(http.StatusBadRequest, "OrganizationNotInAllFeaturesMode", "all features")), Fail},
		{"access denied", ptr(faultproxy.AccessDenied(false)), Error},
		{"moto's own answer (not implemented)", nil, Error},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy := faultproxy.Start(t, srv.Endpoint)
			if tc.answer != nil {
				proxy.Inject(faultproxy.Op("ListOrganizationsFeatures"), *tc.answer)
			}
			report := mustAuditor(t, fastOptions(mustTime("2025-06-01T12:00:00Z"))).Account(t.Context(), NewClients(mototest.Config(t, proxy.URL)))
			if r := find(t, report.Results, "centralized-root-access", ":root"); r.Status != tc.want {
				t.Errorf("%s (%s), want %s", r.Status, r.Detail, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
