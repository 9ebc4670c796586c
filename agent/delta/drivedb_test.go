package delta_test

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Two drives of one instance: each keeps its own index and cursor, their events share the
// instance's queue, and MaxQueue counts the whole instance.
func TestStoreDriveDB(t *testing.T) {
	tn := graphtest.NewTenant(graphtest.TenantOptions{Drive: graphtest.Options{PageSize: 3}})
	defer tn.Close()
	c, err := connector.NewClient(connector.ClientOptions{
		Auth: connector.AuthConfig{Flow: connector.FlowClientCredentials, ClientID: graphtest.DefaultClientID,
			Tenant: "contoso.onmicrosoft.com", ClientSecret: "s", LoginURL: tn.LoginURL(), GraphURL: tn.GraphURL()},
		HTTPClient: tn.Client(), Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	db := openStore(t)
	a := tn.UserDrive(tn.AddUser(graphtest.TenantUser{}))
	b := tn.SiteDrives(tn.AddSite("/sites/x", "", "Documents"))[0]
	a.CreateFile(a.CreateFolder(a.Root(), "A"), "a.txt", []byte("a"))
	for _, n := range []string{"1", "2", "3", "4"} {
		b.CreateFile(b.Root(), n+".txt", []byte(n))
	}
	run := func(s *graphtest.Server, maxQueue int64) delta.Result {
		t.Helper()
		r := &delta.Round{Fetch: c.Page, Emit: queueEmit, Initial: delta.Baseline, MaxQueue: maxQueue,
			Limits: delta.Limits{BufferItems: 2, ChunkUnits: 3, EmitBatch: 1}}
		res, err := r.Run(context.Background(), delta.StoreDriveDB(db, instance, s.DriveID()), c.DeltaURL(s.DriveID()))
		if err != nil {
			t.Fatalf("drive %s: %v", s.DriveID(), err)
		}
		return res
	}
	run(a, 0)
	run(b, 0)
	if evs := drain(t, db); len(evs) != 0 {
		t.Fatalf("baselines queued %d events", len(evs))
	}
	_ = db.View(instance, func(tx *store.Tx) error {
		for s, want := range map[*graphtest.Server]int{a: 3, b: 5} {
			d, err := tx.Drive(s.DriveID())
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := d.ItemCount(); n != want {
				t.Errorf("drive %s indexes %d items, want %d", s.DriveID(), n, want)
			}
			if cur, _ := d.Cursor(); cur == "" {
				t.Errorf("drive %s has no cursor", s.DriveID())
			}
		}
		return nil
	})

	a.CreateFile(a.Root(), "new-a.txt", []byte("x"))
	b.CreateFile(b.Root(), "new-b1.txt", []byte("x"))
	b.CreateFile(b.Root(), "new-b2.txt", []byte("x"))
	if res := run(a, 0); res.Events != 1 {
		t.Errorf("drive a: %+v", res)
	}
	// One event of drive a is queued: with MaxQueue 1, drive b waits for the instance's queue.
	if res := run(b, 1); !res.Paused {
		t.Errorf("drive b did not pause on the instance's full queue: %+v", res)
	}
	var names []string
	for _, e := range drain(t, db) {
		names = append(names, e.Name)
	}
	if res := run(b, 0); !res.Done || res.Events != 2 {
		t.Errorf("drive b after the queue drained: %+v", res)
	}
	for _, e := range drain(t, db) {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	if len(names) != 3 || names[0] != "new-a.txt" || names[2] != "new-b2.txt" {
		t.Errorf("events %v", names)
	}
	if err := db.Verify(); err != nil {
		t.Error(err)
	}
}

// A View on a drive never polled creates the drive's state and reads it; an ErrNotFound that
// the reading itself returns on a drive with state is the caller's answer, not a missing
// drive: fn runs once and nothing is written.
func TestStoreDriveDB_ViewRunsOnce(t *testing.T) {
	db := openStore(t)
	ddb := delta.StoreDriveDB(db, instance, "b!drive")
	calls := 0
	if err := ddb.View(func(delta.Tx) error { calls++; return nil }); err != nil || calls != 1 {
		t.Fatalf("view of a new drive: err %v, %d calls, want 1", err, calls)
	}
	calls = 0
	err := ddb.View(func(delta.Tx) error { calls++; return store.ErrNotFound })
	if !errors.Is(err, store.ErrNotFound) || calls != 1 {
		t.Fatalf("view whose reading answers ErrNotFound: err %v, %d calls, want 1", err, calls)
	}
}
