package callback

import (
	"net/http"
)

// noRedirects returns a copy of c (sharing its transport) that hands a 3xx
// response back instead of following it; nil gives a plain client.
func noRedirects(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}
