package config

import (
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/fleet"
)

// Tenant-wide drive specs ([instance.drive] drive).
const (
	DriveAllUsers = "all-users" // every user's OneDrive
	DriveAllSites = "all-sites" // every document library of every site
	DriveAll      = "all"       // both
)

// Defaults of the tenant-wide and fleet keys.
const (
	DefaultRediscover        = 6 * time.Hour
	MinRediscover            = 10 * time.Second
	DefaultRequestsPerSecond = 20
	DefaultConcurrency       = 4
	MaxConcurrency           = 256
	DefaultHandover          = time.Hour
	MaxShards                = 1024
)

// Tenant is the tenant-wide part of [instance.drive]: set when drive is "all-users",
// "all-sites" or "all".
type Tenant struct {
	Users, Sites bool          // which drives to discover
	UserGlobs    []string      // globs on userPrincipalName; empty: every member
	SiteGlobs    []string      // globs on the site's webUrl; empty: every site
	Rediscover   time.Duration // how often the drive list is read again, >= MinRediscover
}

// Fleet is [fleet]: how many agents share the drives and which one this is.
type Fleet struct {
	Shards   int           // >= 1
	Shard    int           // 0 … Shards-1 ("hostname" resolved)
	Handover time.Duration // how long a drive that moved away is still polled
}

// hostname is the host name "hostname" shards read; a variable so tests can set it.
var hostname = os.Hostname

// tenant reads the tenant-wide keys of [instance.drive] and [instance.poll] into in.
func (b *builder) tenant(drive, poll values, in *Instance) {
	p := b.p
	spec := strings.ToLower(strings.TrimSpace(in.Drive.Spec))
	users, sites := spec == DriveAllUsers || spec == DriveAll, spec == DriveAllSites || spec == DriveAll
	wide := users || sites
	if wide {
		in.Drive.Spec = spec
		if in.Auth.Flow != FlowClientCredentials {
			line, key := b.at(drive, "drive", "drive")
			p.errf(line, key, "%q lists every user and site of the tenant, which needs flow = \"client_credentials\" (an app with User.Read.All, Files.Read.All and Sites.Read.All)", spec)
		}
		in.Drive.Tenant = &Tenant{Users: users, Sites: sites, Rediscover: DefaultRediscover}
		in.Poll.RequestsPerSecond, in.Poll.Concurrency = DefaultRequestsPerSecond, DefaultConcurrency
	}
	for _, k := range []string{"users", "sites"} {
		f, ok := drive.get(k)
		if !ok {
			continue
		}
		list, ok := p.strs(f)
		if !ok {
			continue
		}
		if !wide || (k == "users" && !users) || (k == "sites" && !sites) {
			p.errf(f.line, f.key, "applies only to drive = %q%s", map[string]string{"users": DriveAllUsers, "sites": DriveAllSites}[k], " or \"all\"")
			continue
		}
		for i, g := range list {
			if strings.TrimSpace(g) == "" {
				e := p.elem(f, i)
				p.errf(e.line, e.key, "a glob must not be empty")
			}
		}
		if k == "users" {
			in.Drive.Tenant.UserGlobs = list
		} else {
			in.Drive.Tenant.SiteGlobs = list
		}
	}
	if f, ok := drive.get("rediscover"); ok {
		d, ok := p.duration(f)
		switch {
		case !ok:
		case !wide:
			p.errf(f.line, f.key, "applies only to a tenant-wide drive (\"all-users\", \"all-sites\" or \"all\")")
		case d < MinRediscover:
			p.errf(f.line, f.key, "%v is shorter than the minimum of %v", d, MinRediscover)
		default:
			in.Drive.Tenant.Rediscover = d
		}
	}
	if f, ok := poll.get("requests_per_second"); ok {
		var v float64
		good := true
		switch x := f.v.(type) {
		case int64:
			v = float64(x)
		case float64:
			v = x
		default:
			p.typeErr(f, "a number")
			good = false
		}
		if good && (v <= 0 || math.IsInf(v, 0) || math.IsNaN(v)) {
			p.errf(f.line, f.key, "must be more than 0, got %v", f.v)
			good = false
		}
		if good {
			in.Poll.RequestsPerSecond = v
		}
	}
	if f, ok := poll.get("concurrency"); ok {
		if n, ok := p.integer(f); ok {
			if n < 1 || n > MaxConcurrency {
				p.errf(f.line, f.key, "must be 1 to %d, got %d", MaxConcurrency, n)
			} else {
				in.Poll.Concurrency = int(n)
			}
		}
	}
}

// fleetSection reads [fleet].
func (p *parser) fleetSection(t *table, fl *Fleet) {
	t.unknown(fleetKeys, nil)
	if _, ok := t.m["shards"]; ok {
		f := t.field("shards")
		if n, ok := p.integer(f); ok {
			if n < 1 || n > MaxShards {
				p.errf(f.line, f.key, "must be 1 to %d, got %d", MaxShards, n)
			} else {
				fl.Shards = int(n)
			}
		}
	}
	if _, ok := t.m["shard"]; ok {
		f := t.field("shard")
		var spec string
		switch v := f.v.(type) {
		case int64:
			spec = strconv.FormatInt(v, 10)
		case string:
			spec = v
		default:
			p.typeErr(f, "a number or \"hostname\"")
			return
		}
		host := ""
		if strings.EqualFold(strings.TrimSpace(spec), "hostname") {
			h, err := hostname()
			if err != nil {
				p.errf(f.line, f.key, "\"hostname\": cannot read the host name: %v", err)
				return
			}
			host = h
		}
		n, err := fleet.ParseShard(spec, fl.Shards, host)
		if err != nil {
			p.errf(f.line, f.key, "%v", strings.TrimPrefix(err.Error(), fleet.ErrBadShard.Error()+": "))
			return
		}
		fl.Shard = n
	}
	if _, ok := t.m["handover"]; ok {
		f := t.field("handover")
		if d, ok := p.duration(f); ok {
			if d < 0 {
				p.errf(f.line, f.key, "must not be negative")
			} else {
				fl.Handover = d
			}
		}
	}
}
