// Package graphtest is a fake Microsoft Graph drive API and Microsoft
// identity platform for tests, built on net/http/httptest. It imports only
// the standard library and coder/websocket (for the notification channel),
// so any package (connector included) can use it.
//
// A Server holds one drive: a mutable tree of folders and files that tests
// change with CreateFolder, CreateFile, Modify, Touch, Rename, Move,
// MoveRename and Delete (or fill in bulk with Populate). Every change bumps
// the drive's version; delta tokens encode a version, so a delta round
// returns the latest state of everything changed since the token, each item
// once, with the ancestors of changed items as noise. A round is a
// consistent snapshot: its pages show items as they were when the round
// started, even if the drive changes between pages; later changes come in
// the next round. RandomChange simulates a user at work.
//
// Graph routes (under GraphURL, "<URL>/v1.0"):
//
//	GET /drives/{id} | /me/drive | /users/{id}/drive | /sites/{id}/drive | /groups/{id}/drive
//	GET /sites/{id} | /sites/{host}:/{path} | /sites/{id}/drives (sites added with AddSite)
//	GET <drive>/root, <drive>/items/{item-id}
//	GET <drive>/root/delta[?token=…|(token='…')], <drive>/items/{root-id}/delta
//	GET <drive>/root/subscriptions/socketIo  and the socket.io channel at /socket.io/ (push.go)
//
// They need "Authorization: Bearer <token>" with a token this server issued
// (IssueToken, IssueAppToken, or the token endpoint), unless
// Options.AllowAnonymous. /me routes reject app-only tokens with 400.
//
// Identity routes (under LoginURL, "<URL>"):
//
//	POST /{tenant}/oauth2/v2.0/token        authorization_code (+PKCE), refresh_token,
//	                                         client_credentials, device_code grants
//	POST /{tenant}/oauth2/v2.0/devicecode   start a device-code sign-in
//	GET  /{tenant}/oauth2/v2.0/authorize    browser sign-in: redirects with code and state
//	GET  /devicelogin?otc=CODE[&action=decline]  approve or decline a device code over HTTP
//
// Delta behaves like Graph on its bad days when asked to (see Options):
// child-first or shuffled order, duplicates, empty pages with a nextLink,
// 7-item pages for deletions, function-style links, parentReference.path,
// 410 resyncRequired with a Location (ExpireTokens, token age limits, or an
// injected fault, also mid-round), 429/503 with or without Retry-After,
// transient 5xx, empty-body 503, a nextLink that points to itself, and a
// per-app resource-unit budget. Every request is logged (Requests, Count,
// RetryAfterViolations) so tests can assert how a client treated the service.
//
// Example:
//
//	s := graphtest.NewServer(graphtest.Options{PageSize: 100})
//	defer s.Close()
//	docs := s.CreateFolder(s.Root(), "Docs")
//	a := s.CreateFile(docs, "a.txt", []byte("hello"))
//
//	token := s.IssueToken() // or sign in at s.LoginURL()
//	req, _ := http.NewRequest("GET", s.DeltaURL(), nil)
//	req.Header.Set("Authorization", "Bearer "+token)
//	// ... follow @odata.nextLink until @odata.deltaLink; keep the deltaLink.
//
//	s.Modify(a, []byte("hello again"))
//	s.Rename(docs, "Documents")   // delta reports the folder only, not a.txt
//	s.FailNextWith(429, 3*time.Second, "")
//	// ... GET the deltaLink: 429 with Retry-After: 3, then the two changes.
//	if v := s.RetryAfterViolations(); len(v) > 0 { t.Errorf("ignored Retry-After: %v", v) }
//
// A Tenant (NewTenant) holds many drives behind one URL: users with and
// without a OneDrive, guests and disabled accounts, sites with personal sites
// among them, document libraries, paged listings, a per-second request
// counter and a tenant-wide throttle; each of its drives is a Server.
//
// Mutation methods panic on impossible requests (unknown ids, duplicate
// names, moving a folder into itself): those are mistakes in the test.
package graphtest
