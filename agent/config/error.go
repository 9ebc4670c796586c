package config

import (
	"errors"
	"fmt"
	"sort"
)

// Error is one configuration problem, printed as "file:line: key: message". Line is 0 when
// unknown and Key "" when the problem is not about one key.
type Error struct {
	File string
	Line int
	Key  string // dotted, without array indexes: "instance.poll.interval"
	Msg  string // never contains a secret
}

func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Key != "" {
		s += ": " + e.Key
	}
	return s + ": " + e.Msg
}

// problems collects errors and warnings, without duplicates (a bad [defaults] value is
// found once per instance).
type problems struct {
	file  string
	errs  []*Error
	warns []*Error
	seen  map[string]bool
}

func (p *problems) add(list *[]*Error, line int, key, format string, args ...any) {
	e := &Error{File: p.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	s := e.Error()
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if p.seen[s] {
		return
	}
	p.seen[s] = true
	*list = append(*list, e)
}

func (p *problems) errf(line int, key, format string, args ...any) {
	p.add(&p.errs, line, key, format, args...)
}

func (p *problems) warnf(line int, key, format string, args ...any) {
	p.add(&p.warns, line, key, format, args...)
}

// err returns the errors sorted by line, joined, or nil.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	list := make([]error, len(p.errs))
	for i, e := range p.errs {
		list[i] = e
	}
	return errors.Join(list...)
}

func (p *problems) warnings() []string {
	sort.SliceStable(p.warns, func(i, j int) bool { return p.warns[i].Line < p.warns[j].Line })
	out := make([]string, len(p.warns))
	for i, w := range p.warns {
		out[i] = w.Error()
	}
	return out
}
