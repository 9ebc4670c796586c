package graphtest

import (
	"net/url"
	"time"
)

// Order is the order in which a delta round lists its items.
type Order int

const (
	// ParentFirst lists shallower items first (the root first in a full enumeration).
	ParentFirst Order = iota
	// ChildFirst lists deeper items first, so children come before their parents.
	ChildFirst
	// Shuffled lists items in a random order drawn from Options.Seed and the round.
	Shuffled
)

// LinkStyle is the shape of the nextLink and deltaLink URLs the server hands out.
// Clients must follow links verbatim, whatever their shape.
type LinkStyle int

const (
	// QueryLinks carry the token as a query parameter: .../root/delta?token=X.
	QueryLinks LinkStyle = iota
	// FunctionLinks carry the token as a function parameter: .../root/delta(token='X').
	FunctionLinks
)

// Options configures a Server. Every field can be changed while the server runs
// with Server.Configure. The zero value is a OneDrive for Business drive that
// behaves like Graph on a good day: ancestors of changed items are included,
// items come parent first, pages hold 200 items, no faults are injected.
type Options struct {
	// DriveID is the drive id. Default: "b!" followed by 32 characters for a
	// business drive, 16 hex digits for a personal one.
	DriveID string
	// Personal switches to OneDrive Personal behaviour: driveType "personal",
	// deleted items keep their name and lose their size, folders carry a cTag,
	// files carry a cTag in delta, timestamp tokens are rejected with 400.
	Personal bool

	// PageSize is the number of items per delta page when the request has no
	// $top. Default 200. $top overrides it, capped at 999.
	PageSize int
	// DeletePageSize, when > 0, ends a page after that many items as soon as it
	// holds a deleted item (Graph sends deletions 7 per page).
	DeletePageSize int
	// Order is the order of items within a round.
	Order Order
	// Seed drives Shuffled ordering.
	Seed int64
	// DuplicateEvery, when > 0, repeats every Nth item of a round at the end of
	// the round, so clients see the same item twice (the last one wins).
	DuplicateEvery int
	// ExcludeAncestors leaves out the ancestor folders of changed items. Graph
	// includes them (also when the request sends Prefer: deltaExcludeParent,
	// which this server honours by leaving them out too).
	ExcludeAncestors bool
	// EmptyPageEvery, when > 0, inserts an empty page carrying a nextLink after
	// every EmptyPageEvery pages of a round.
	EmptyPageEvery int
	// ParentPath adds parentReference.path ("/drive/root:/a/b") to live items.
	// Graph documents it as absent in delta; business drives often send it.
	ParentPath bool
	// DeletedDescendants makes a deleted folder's descendants appear in delta
	// as deleted too. Graph is not consistent about it; the default omits
	// those whose only change since the token is that deletion.
	DeletedDescendants bool
	// CTagInDelta adds file cTags to delta items of a business drive (OneDrive
	// for Business omits cTag in delta; personal drives always send it).
	CTagInDelta bool
	// OmitInDelta lists properties left out of live delta items although
	// selected, as Graph drops some at times: "root" (the root facet),
	// "size", "cTag", "lastModifiedDateTime" and "hashes" (file.hashes).
	OmitInDelta []string
	// LinkStyle is the shape of nextLink and deltaLink URLs.
	LinkStyle LinkStyle
	// TokenMaxVersions, when > 0, answers 410 to a deltaLink more than that many
	// versions (mutations) behind the head.
	TokenMaxVersions uint64
	// TokenMaxAge, when > 0, answers 410 to a deltaLink older than that.
	TokenMaxAge time.Duration
	// RUPerMinute, when > 0, is the resource-unit budget per app (client id) per
	// sliding minute: a delta without token costs 2, any other Graph request 1.
	// Requests over budget get 429 with Retry-After; they still count.
	RUPerMinute int

	// AllowAnonymous serves Graph routes without an Authorization header.
	AllowAnonymous bool
	// AccessTokenLifetime is the access token lifetime. Default 1 hour.
	AccessTokenLifetime time.Duration
	// SingleUseRefreshTokens makes a refresh token invalid once it has been
	// redeemed. Graph keeps the old one valid (the default).
	SingleUseRefreshTokens bool
	// RefreshTokenMaxIdle, when > 0, rejects a refresh token unused for longer
	// with invalid_grant AADSTS700082 (Graph: 90 days).
	RefreshTokenMaxIdle time.Duration
	// ClientSecret, when set, is the only secret accepted from a client id that
	// was not registered with AddClient.
	ClientSecret string
	// StrictClients rejects client ids not registered with AddClient.
	StrictClients bool
	// DeviceCodeLifetime is the device code lifetime (expires_in). Default 15 minutes.
	DeviceCodeLifetime time.Duration
	// DeviceCodeInterval is the polling interval announced by the devicecode
	// endpoint, in whole seconds. Default 5 s; a negative value announces 0
	// and never answers slow_down. A pending poll that comes sooner than the
	// interval after the previous one (250 ms slack) gets slow_down.
	DeviceCodeInterval time.Duration
	// AutoApproveDevice approves every device code as soon as it is issued.
	AutoApproveDevice bool
	// AuthorizeHook decides the browser sign-in at /authorize: nil or a nil
	// result approves and redirects with a code; an error redirects with
	// error=access_denied and the error text. It runs unlocked and may call
	// the Server.
	AuthorizeHook func(query url.Values) error

	// PushPingInterval and PushPingTimeout are announced in the Engine.IO open packet of the
	// notification channel (defaults 25s and 20s); the server pings every PushPingInterval.
	PushPingInterval, PushPingTimeout time.Duration
	// PushLifetime is how long a notification URL lives (expirationDateTime); default 1 hour.
	// Links are closed when their URL expires.
	PushLifetime time.Duration
	// PushDuplicates, when > 1, announces every change that many times (Graph often sends
	// several notifications for one change).
	PushDuplicates int
	// PushForbidden answers 403 to subscription requests, as for an account that refuses push.
	PushForbidden bool

	// Now is the server's clock. Default time.Now. It is called with the
	// server locked: it must not call the Server.
	Now func() time.Time
}

const (
	defaultPageSize     = 200
	maxPageSize         = 999
	defaultTokenLife    = time.Hour
	defaultDeviceLife   = 15 * time.Minute
	defaultDevicePeriod = 5 * time.Second
)

func (o Options) withDefaults() Options {
	if o.PageSize <= 0 {
		o.PageSize = defaultPageSize
	}
	if o.PageSize > maxPageSize {
		o.PageSize = maxPageSize
	}
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = defaultTokenLife
	}
	if o.DeviceCodeLifetime <= 0 {
		o.DeviceCodeLifetime = defaultDeviceLife
	}
	if o.DeviceCodeInterval == 0 {
		o.DeviceCodeInterval = defaultDevicePeriod
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) driveType() string {
	if o.Personal {
		return "personal"
	}
	return "business"
}
