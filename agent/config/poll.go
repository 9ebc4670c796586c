package config

import (
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/schedule"
)

// poll reads [instance.poll] and builds the schedule when every part is valid.
func (b *builder) poll(v values) Poll {
	p := b.p
	pl := Poll{Initial: DefaultInitial, MaxQueue: DefaultMaxQueue, Location: time.UTC, Push: DefaultPush, Debounce: DefaultDebounce}
	good := true
	if f, ok := v.get("schedule"); ok {
		if s, ok := p.str(f); !ok {
			good = false
		} else if s != "" {
			if err := schedule.CheckCron(s); err != nil {
				p.errf(f.line, f.key, "%v", err)
				good = false
			}
			pl.Cron = s
		}
	}
	if f, ok := v.get("interval"); ok {
		d, ok := p.duration(f)
		switch {
		case !ok:
			good = false
		case d < MinInterval:
			p.errf(f.line, f.key, "%v is shorter than the minimum of %v", d, MinInterval)
			good = false
		case d > schedule.MaxInterval:
			p.errf(f.line, f.key, "%v is longer than 24h: use schedule (a cron expression) for rarer polls", d)
			good = false
		default:
			pl.Interval = d
		}
	} else if pl.Cron == "" {
		pl.Interval = DefaultInterval
	}
	if f, ok := v.get("timezone"); ok {
		if s, ok := p.str(f); ok {
			loc, err := time.LoadLocation(s)
			if err != nil || s == "" {
				p.errf(f.line, f.key, "%q is not a time zone (an IANA name such as \"Europe/Berlin\", or \"UTC\")", s)
				good = false
			} else {
				pl.Location = loc
			}
		} else {
			good = false
		}
	}
	if f, ok := v.get("active_hours"); ok {
		list, ok := p.strs(f)
		good = good && ok
		for i, w := range list {
			if _, err := schedule.ParseWindow(w); err != nil {
				e := p.elem(f, i)
				p.errf(e.line, e.key, "%v", err)
				good = false
			}
		}
		pl.ActiveHours = list
	}
	if f, ok := v.get("initial"); ok {
		if s, ok := p.oneOf(f, InitialBaseline, InitialBackfill); ok {
			pl.Initial = s
		}
	}
	if f, ok := v.get("max_queue"); ok {
		if n, ok := p.integer(f); ok {
			if n < 1 {
				p.errf(f.line, f.key, "must be at least 1, got %d", n)
			} else {
				pl.MaxQueue = n
			}
		}
	}
	if f, ok := v.get("push"); ok {
		if s, ok := p.oneOf(f, PushAuto, PushOff); ok {
			pl.Push = s
		}
	}
	if f, ok := v.get("debounce"); ok {
		if d, ok := p.duration(f); ok {
			if d < 0 || d > MaxDebounce {
				p.errf(f.line, f.key, "%v is outside 0s..%v", d, MaxDebounce)
			} else {
				pl.Debounce = d
			}
		}
	}
	if !good {
		return pl
	}
	s, err := schedule.New(schedule.Options{Interval: pl.Interval, Cron: pl.Cron, Location: pl.Location, ActiveHours: pl.ActiveHours})
	if err != nil {
		line, key := b.at(v, "poll", "interval")
		p.errf(line, key, "%v", err)
		return pl
	}
	if len(pl.ActiveHours) > 0 && s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		line, key := b.at(v, "poll", "active_hours")
		p.errf(line, key, "no poll of the schedule (%s) falls inside these active hours", s)
		return pl
	}
	pl.Schedule = s
	return pl
}
