// Package connector talks to Microsoft Graph and the Microsoft identity platform for one
// OneDrive or SharePoint drive: it signs in (device code, authorization code with PKCE on a
// loopback redirect, an authorization code obtained elsewhere, client credentials with a
// secret or a certificate), keeps the rotating refresh token persisted through a TokenStore,
// resolves the drive to poll, and fetches driveItem delta pages. Push keeps Graph's socket.io
// notification link for a drive open (Engine.IO v4 over WebSocket, see Push).
//
// Guarantees:
//   - Every token obtained by a refresh is saved through TokenStore.SaveToken before any request
//     uses it, so the newest refresh token survives a crash or restart.
//   - A 429 or 503 from Graph pauses every request of the same account (login root, tenant and
//     client id) for Retry-After, or for an exponential backoff with jitter up to 5 minutes when
//     the header is missing. Clients of one account share the pause through a Throttle value.
//   - A 401 refreshes the access token once and retries once; a 410 becomes a *ResyncError; a
//     transient 5xx or network failure is retried with a bounded backoff and then returned, so
//     the caller keeps its cursor.
//   - Secrets (client secrets, access and refresh tokens) never appear in an error or log line.
//
// Concurrency: a Client is safe for concurrent use, but the agent uses one Client per instance
// and calls Page sequentially. A Throttle is safe for concurrent use by many Clients.
//
// The package imports only the standard library, golang.org/x/oauth2, cenkalti/backoff/v4 and
// coder/websocket. The bearer token goes only to the configured Graph root: the notification
// link carries the opaque token of its URL, never the access token.
package connector
