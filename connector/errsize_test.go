package connector

import (
	"strings"
	"testing"
)

// TestDecodePage_ErrorsStayShort: a page can be 64 MiB, but an error about it quotes at most
// a few hundred bytes of what Graph sent, so a status page, a log line or a stored error
// never carries a response body.
func TestDecodePage_ErrorsStayShort(t *testing.T) {
	huge := strings.Repeat("A", 1<<20)
	tests := []struct{ name, page string }{
		{"bad nextLink", `{"value":[],"@odata.nextLink":"ftp://` + huge + `"}`},
		{"bad deltaLink", `{"value":[],"@odata.deltaLink":"` + huge + `"}`},
		{"huge id, bad field", `{"value":[{"id":"` + huge + `","name":1}],"@odata.deltaLink":"https://g/x"}`},
		{"huge id, bad time", `{"value":[{"id":"` + huge + `","lastModifiedDateTime":"` + huge + `"}],"@odata.deltaLink":"https://g/x"}`},
		{"huge id, valid item", `{"value":[{"id":"` + huge + `"}],"@odata.deltaLink":"https://g/x"}`},
		{"huge parent id", `{"value":[{"id":"a","parentReference":{"id":"` + huge + `"}}],"@odata.deltaLink":"https://g/x"}`},
		{"huge size", `{"value":[{"id":"a","size":1` + strings.Repeat("0", 1<<20) + `}],"@odata.deltaLink":"https://g/x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodePage([]byte(tt.page))
			if err == nil {
				t.Fatal("decoded")
			}
			if n := len(err.Error()); n > 1024 {
				t.Fatalf("error is %d bytes long: %.200s…", n, err)
			}
		})
	}
}
