package agent

import (
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// TestSetBuildInfo: onedrive_agent_build_info is one series of value 1 with the build's
// labels, an empty commit reads "unknown", and a second call replaces the first.
func TestSetBuildInfo(t *testing.T) {
	m := NewMetrics(func() []QueueSnapshot { return nil })
	page := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		var lines []string
		for _, l := range strings.Split(rec.Body.String(), "\n") {
			if strings.HasPrefix(l, "onedrive_agent_build_info{") {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	if got := page(); got != "" {
		t.Errorf("build info before SetBuildInfo: %q", got)
	}
	m.SetBuildInfo("1.2.3", "")
	want := `onedrive_agent_build_info{commit="unknown",goversion="` + runtime.Version() + `",version="1.2.3"} 1`
	if got := page(); got != want {
		t.Errorf("build info:\n%s\nwant\n%s", got, want)
	}
	m.SetBuildInfo("1.2.4", "abc")
	want = `onedrive_agent_build_info{commit="abc",goversion="` + runtime.Version() + `",version="1.2.4"} 1`
	if got := page(); got != want {
		t.Errorf("build info after a second call:\n%s\nwant\n%s", got, want)
	}
}
