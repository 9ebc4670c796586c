package connector

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAuthConfig_Validate(t *testing.T) {
	ok := AuthConfig{ClientID: "cid"}
	tests := []struct {
		name  string
		cfg   AuthConfig
		wants []string // substrings; none = valid
	}{
		{"defaults", ok, nil},
		{"no client id", AuthConfig{}, []string{"client_id: is required"}},
		{"bad flow", AuthConfig{ClientID: "c", Flow: "password"}, []string{"flow: must be"}},
		{"cc common", AuthConfig{ClientID: "c", Flow: FlowClientCredentials, ClientSecret: "s"}, []string{"tenant: client_credentials needs a real tenant"}},
		{"cc no secret", AuthConfig{ClientID: "c", Flow: FlowClientCredentials, Tenant: "contoso.onmicrosoft.com"}, []string{"client_secret: is required"}},
		{"cc ok", AuthConfig{ClientID: "c", Flow: FlowClientCredentials, Tenant: "contoso.onmicrosoft.com", ClientSecret: "s"}, nil},
		{"bad cloud", AuthConfig{ClientID: "c", Cloud: "mars"}, []string{`cloud: unknown cloud "mars"`}},
		{"bad tenant", AuthConfig{ClientID: "c", Tenant: "a/b"}, []string{"tenant: must be"}},
		{"bad login url", AuthConfig{ClientID: "c", LoginURL: "login.microsoftonline.com"}, []string{"login_url: must start with https://"}},
		{"bad graph url", AuthConfig{ClientID: "c", GraphURL: "https://graph.microsoft.com/v1.0?x=1"}, []string{"graph_url: must not have a query"}},
		{"http graph url", AuthConfig{ClientID: "c", GraphURL: "http://graph.microsoft.com/v1.0"}, []string{"graph_url: must start with https://"}},
		{"http login url", AuthConfig{ClientID: "c", LoginURL: "http://login.example"}, []string{"login_url: must start with https://"}},
		{"browser non-loopback", AuthConfig{ClientID: "c", Flow: FlowBrowser, RedirectURL: "http://example.com/"}, []string{"redirect_url: the browser flow needs localhost"}},
		{"browser https", AuthConfig{ClientID: "c", Flow: FlowBrowser, RedirectURL: "https://localhost:1/"}, []string{"redirect_url: the browser flow listens on a loopback http://"}},
		{"code any https", AuthConfig{ClientID: "c", Flow: FlowCode, RedirectURL: "https://app.example.com/cb"}, nil},
		{"bad scope", AuthConfig{ClientID: "c", Scopes: []string{"Files.Read offline_access", "offline_access"}}, []string{"scopes: a scope must be one non-empty word"}},
		{"several", AuthConfig{Flow: FlowClientCredentials}, []string{"client_id", "client_secret", "tenant"}},
		{"no offline_access", AuthConfig{ClientID: "c", Scopes: []string{"Files.Read"}}, []string{`scopes: add "offline_access"`}},
		{"cc named scope", AuthConfig{ClientID: "c", Flow: FlowClientCredentials, Tenant: "t.com", ClientSecret: "s", Scopes: []string{"Files.Read.All"}}, []string{"client_credentials takes only"}},
		{"cc default scope", AuthConfig{ClientID: "c", Flow: FlowClientCredentials, Tenant: "t.com", ClientSecret: "s", Scopes: []string{"https://graph.microsoft.us/.default"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.wants) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrBadConfig) {
				t.Errorf("error does not match ErrBadConfig: %v", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestAuthConfig_ValidateKeepsSecretOut(t *testing.T) {
	err := AuthConfig{Flow: "nope", ClientSecret: "s3cr3t-value", Tenant: "common"}.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cr3t-value") {
		t.Fatalf("err = %v", err)
	}
}

func TestAuthConfig_Endpoints(t *testing.T) {
	tests := []struct {
		cfg                  AuthConfig
		token, device, authz string
		graph                string
		scopes               []string
	}{
		{AuthConfig{ClientID: "c"},
			"https://login.microsoftonline.com/common/oauth2/v2.0/token",
			"https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
			"https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
			"https://graph.microsoft.com/v1.0",
			[]string{"https://graph.microsoft.com/Files.Read", "https://graph.microsoft.com/Files.Read.All", "offline_access"}},
		{AuthConfig{ClientID: "c", Cloud: "usgov", Tenant: "contoso.us", Flow: FlowClientCredentials},
			"https://login.microsoftonline.us/contoso.us/oauth2/v2.0/token",
			"https://login.microsoftonline.us/contoso.us/oauth2/v2.0/devicecode",
			"https://login.microsoftonline.us/contoso.us/oauth2/v2.0/authorize",
			"https://graph.microsoft.us/v1.0",
			[]string{"https://graph.microsoft.us/.default"}},
		{AuthConfig{ClientID: "c", Cloud: "usgov-dod"},
			"https://login.microsoftonline.us/common/oauth2/v2.0/token",
			"https://login.microsoftonline.us/common/oauth2/v2.0/devicecode",
			"https://login.microsoftonline.us/common/oauth2/v2.0/authorize",
			"https://dod-graph.microsoft.us/v1.0",
			[]string{"https://dod-graph.microsoft.us/Files.Read", "https://dod-graph.microsoft.us/Files.Read.All", "offline_access"}},
		{AuthConfig{ClientID: "c", Cloud: "china", Flow: FlowClientCredentials, Tenant: "t"},
			"https://login.chinacloudapi.cn/t/oauth2/v2.0/token",
			"https://login.chinacloudapi.cn/t/oauth2/v2.0/devicecode",
			"https://login.chinacloudapi.cn/t/oauth2/v2.0/authorize",
			"https://microsoftgraph.chinacloudapi.cn/v1.0",
			[]string{"https://microsoftgraph.chinacloudapi.cn/.default"}},
		{AuthConfig{ClientID: "c", LoginURL: "http://127.0.0.1:9/", GraphURL: "http://127.0.0.1:9/v1.0/", Tenant: "consumers", Scopes: []string{"Files.Read", "offline_access"}},
			"http://127.0.0.1:9/consumers/oauth2/v2.0/token",
			"http://127.0.0.1:9/consumers/oauth2/v2.0/devicecode",
			"http://127.0.0.1:9/consumers/oauth2/v2.0/authorize",
			"http://127.0.0.1:9/v1.0",
			[]string{"Files.Read", "offline_access"}},
	}
	for _, tt := range tests {
		c := tt.cfg
		if got := c.TokenURL(); got != tt.token {
			t.Errorf("TokenURL = %q, want %q", got, tt.token)
		}
		if got := c.DeviceAuthURL(); got != tt.device {
			t.Errorf("DeviceAuthURL = %q, want %q", got, tt.device)
		}
		if got := c.AuthURL(); got != tt.authz {
			t.Errorf("AuthURL = %q, want %q", got, tt.authz)
		}
		if got := c.GraphRoot(); got != tt.graph {
			t.Errorf("GraphRoot = %q, want %q", got, tt.graph)
		}
		if got := c.EffectiveScopes(); !reflect.DeepEqual(got, tt.scopes) {
			t.Errorf("EffectiveScopes = %q, want %q", got, tt.scopes)
		}
	}
}

func TestAuthConfig_AccountKey(t *testing.T) {
	a := AuthConfig{ClientID: "CID", Tenant: "Contoso.com"}
	b := AuthConfig{ClientID: "cid", Tenant: "contoso.com", ClientSecret: "x", Flow: FlowBrowser}
	c := AuthConfig{ClientID: "cid", Tenant: "contoso.com", Cloud: "usgov"}
	d := AuthConfig{ClientID: "other", Tenant: "contoso.com"}
	if a.AccountKey() != b.AccountKey() {
		t.Errorf("same account, different keys: %q %q", a.AccountKey(), b.AccountKey())
	}
	if a.AccountKey() == c.AccountKey() || a.AccountKey() == d.AccountKey() {
		t.Error("different accounts share a key")
	}
}

func TestCheckDriveSpec(t *testing.T) {
	tests := []struct {
		spec, flow string
		bad        bool
	}{
		{"me", FlowDevice, false},
		{"", FlowBrowser, false},
		{"ME", FlowClientCredentials, true},
		{"", FlowClientCredentials, true},
		{"user:alice@contoso.com", FlowClientCredentials, false},
		{"user:", FlowClientCredentials, true},
		{"site:", FlowDevice, true},
		{"site:contoso.sharepoint.com,1,2", FlowClientCredentials, false},
		{"b!abc", FlowClientCredentials, false},
		{"a/b", FlowDevice, true},
	}
	for _, tt := range tests {
		err := CheckDriveSpec(tt.spec, tt.flow)
		if (err != nil) != tt.bad {
			t.Errorf("CheckDriveSpec(%q, %q) = %v, want bad=%v", tt.spec, tt.flow, err, tt.bad)
		}
		if err != nil && !errors.Is(err, ErrBadConfig) {
			t.Errorf("error does not match ErrBadConfig: %v", err)
		}
	}
	err := CheckDriveSpec("me", FlowClientCredentials)
	if !strings.Contains(err.Error(), "user:<upn") || !strings.Contains(err.Error(), "drive id") {
		t.Errorf("message does not say what to do: %v", err)
	}
}
