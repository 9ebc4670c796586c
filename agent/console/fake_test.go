package console

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// fakeBackend is an in-memory agent: a list of instances and their dead
// letters, recording every action it is asked to do.
type fakeBackend struct {
	mu        sync.Mutex
	ov        Overview
	dead      map[string][]DeadLetter
	calls     []string
	drives    map[string][]Drive
	pollBlock chan struct{} // when set, Poll waits for it to close
}

func newFakeBackend(n int, now time.Time) *fakeBackend {
	f := &fakeBackend{ov: Overview{Version: "1.2.3", Running: true, Started: now.Add(-time.Hour)}, dead: map[string][]DeadLetter{}}
	for i := range n {
		in := Instance{
			Name: fmt.Sprintf("inst-%02d", i), Enabled: true, State: "idle",
			Target: RedactURL("https://hooks.example/in?token=s3cr3t-query"), DriveID: fmt.Sprintf("b!drive%02d", i),
			LastPoll: now.Add(-2 * time.Minute), LastSuccess: now.Add(-2 * time.Minute), NextPoll: now.Add(3 * time.Minute),
			QueuedEvents: int64(i * 10), QueuedMessages: int64(i),
		}
		if i%5 == 1 {
			in.Oldest = now.Add(-7 * time.Minute)
			in.LastDeliveryError = "HTTP 503 Service Unavailable: the receiver is down for maintenance until 10:00, please retry later"
			in.State = "error"
		}
		f.ov.Instances = append(f.ov.Instances, in)
	}
	return f
}

func (f *fakeBackend) setDead(name string, dls []DeadLetter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead[name] = dls
	for i := range f.ov.Instances {
		if f.ov.Instances[i].Name == name {
			f.ov.Instances[i].DeadMessages = int64(len(dls))
		}
	}
}

func (f *fakeBackend) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeBackend) known(name string) error {
	for _, in := range f.ov.Instances {
		if in.Name == name {
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrNotFound, name)
}

func (f *fakeBackend) Overview(context.Context) (Overview, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ov := f.ov
	ov.Instances = slices.Clone(f.ov.Instances)
	return ov, nil
}

func (f *fakeBackend) DeadLetters(_ context.Context, name string) ([]DeadLetter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dead[name]), f.known(name)
}

func (f *fakeBackend) Poll(_ context.Context, name string) (string, error) {
	if err := f.known(name); err != nil {
		return "", err
	}
	f.record("poll " + name)
	if f.pollBlock != nil {
		<-f.pollBlock
	}
	return "3 events from 5 items in 1 pages", nil
}

func (f *fakeBackend) Resync(_ context.Context, name string) (string, error) {
	if err := f.known(name); err != nil {
		return "", err
	}
	f.record("resync " + name)
	return "0 events from 5 items in 1 pages, drive resynced", nil
}

func (f *fakeBackend) Replay(_ context.Context, name string, ids []string) (int, error) {
	if err := f.known(name); err != nil {
		return 0, err
	}
	f.record(fmt.Sprintf("replay %s %v", name, ids))
	return max(len(ids), 1), nil
}

func (f *fakeBackend) Purge(_ context.Context, name string, ids []string) (int, error) {
	if err := f.known(name); err != nil {
		return 0, err
	}
	f.record(fmt.Sprintf("purge %s %v", name, ids))
	return max(len(ids), 1), nil
}

func (f *fakeBackend) Drives(_ context.Context, name string) ([]Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.drives[name]), f.known(name)
}

// setDrives makes name a tenant-wide instance with n drives; every third
// belongs to alice, every tenth failed its last poll.
func (f *fakeBackend) setDrives(name string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.drives == nil {
		f.drives = map[string][]Drive{}
	}
	var ds []Drive
	failing := 0
	for i := range n {
		d := Drive{ID: fmt.Sprintf("b!drive-%03d", i), Name: fmt.Sprintf("OneDrive %03d", i), Owner: fmt.Sprintf("user%03d@contoso.example", i), State: "idle"}
		if i%3 == 0 {
			d.Owner = fmt.Sprintf("alice%03d@contoso.example", i)
		}
		if i%10 == 0 {
			d.State, d.LastError = "error", "HTTP 403 Forbidden: access denied"
			failing++
		}
		ds = append(ds, d)
	}
	f.drives[name] = ds
	for i := range f.ov.Instances {
		if f.ov.Instances[i].Name == name {
			f.ov.Instances[i].TenantWide, f.ov.Instances[i].Drives, f.ov.Instances[i].DrivesFailing = true, n, failing
		}
	}
}
