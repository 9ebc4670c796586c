package callback

import (
	"encoding/json"
	"testing"
)

func TestBuild_Drive(t *testing.T) {
	tests := []struct {
		name  string
		drive *Drive
	}{
		{"one drive", nil},
		{"tenant-wide", &Drive{ID: "b!x", Name: `Shared "Docs"`, Owner: "https://contoso.sharepoint.com/sites/hr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := Build(&seqCounter{}, Meta{DBID: "d", InstanceID: 1, Name: "t", Drive: tt.drive}, testEvents(), testPoll)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				var body struct {
					Message struct {
						Events []map[string]any `json:"events"`
					} `json:"message"`
				}
				if err := json.Unmarshal(m.Body, &body); err != nil {
					t.Fatalf("%v: %s", err, m.Body)
				}
				for _, e := range body.Message.Events {
					_, has := e["driveId"]
					if tt.drive == nil && has {
						t.Errorf("a one-drive instance's event carries driveId: %v", e)
					}
					if tt.drive != nil && (e["driveId"] != tt.drive.ID || e["driveName"] != tt.drive.Name || e["owner"] != tt.drive.Owner) {
						t.Errorf("event %v lacks the drive %+v", e, *tt.drive)
					}
				}
			}
		})
	}
}
