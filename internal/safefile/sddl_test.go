package safefile

import "testing"

func TestProtectedDirSDDL(t *testing.T) {
	const base = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	tests := []struct{ self, want string }{
		{"", base},
		{"S-1-5-18", base}, // the service account: SYSTEM is there already
		{"SY", base},
		{"S-1-5-32-544", base},
		{"S-1-5-21-1-2-3-1001", base + "(A;OICI;FA;;;S-1-5-21-1-2-3-1001)"},
	}
	for _, tt := range tests {
		if got := ProtectedDirSDDL(tt.self); got != tt.want {
			t.Errorf("ProtectedDirSDDL(%q) = %q, want %q", tt.self, got, tt.want)
		}
		// What the agent sets is what it accepts afterwards.
		for _, owner := range []string{"SY", "BA"} {
			if v, why := judgeDirSDDL("O:"+owner+"G:SY"+ProtectedDirSDDL(tt.self), tt.self); v != dirOK {
				t.Errorf("the agent's own descriptor (self %q, owner %s) judged %d: %s", tt.self, owner, v, why)
			}
		}
	}
}

func TestJudgeDirSDDL(t *testing.T) {
	const user = "S-1-5-21-1-2-3-1001"
	const other = "S-1-5-21-1-2-3-1002"
	tests := []struct {
		name, sddl, self string
		want             dirVerdict
	}{
		{"created by the agent as SYSTEM", "O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", "S-1-5-18", dirOK},
		{"owner Administrators, long SIDs", "O:S-1-5-32-544G:SYD:PAI(A;OICI;FA;;;S-1-5-18)(A;OICI;FA;;;S-1-5-32-544)", "S-1-5-18", dirOK},
		{"foreground user's own folder", "O:" + user + "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;" + user + ")", user, dirOK},
		{"deny entries grant nothing", "O:BAD:P(D;OICI;FA;;;WD)(A;OICI;FA;;;SY)", "SY", dirOK},
		// %ProgramData%'s own DACL, inherited by a folder made with a plain mkdir.
		{"inherits ProgramData (Users may read)", "O:SYG:SYD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)", "S-1-5-18", dirRepair},
		{"protected but Users may read", "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)", "SY", dirRepair},
		{"protected, Everyone", "O:SYD:P(A;OICI;FA;;;SY)(A;;FA;;;WD)", "SY", dirRepair},
		{"creator owner entry", "O:SYD:P(A;OICI;FA;;;SY)(A;OICIIO;GA;;;CO)", "SY", dirRepair},
		{"object allow entry", "O:SYD:P(A;OICI;FA;;;SY)(OA;;FA;11111111-1111-1111-1111-111111111111;;" + other + ")", "SY", dirRepair},
		{"null DACL", "O:SYG:SYD:NO_ACCESS_CONTROL", "SY", dirRepair},
		{"no DACL at all", "O:SYG:SY", "SY", dirRepair},
		{"planted by another user", "O:" + other + "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", "S-1-5-18", dirRefuse},
		{"planted, DACL open too", "O:" + other + "D:AI(A;OICIID;FA;;;WD)", "S-1-5-18", dirRefuse},
		{"owned by Users", "O:BUD:P(A;OICI;FA;;;SY)", "SY", dirRefuse},
		{"no owner", "D:P(A;OICI;FA;;;SY)", "SY", dirRefuse},
		{"the same user's folder is not trusted for another account", "O:" + user + "D:P(A;OICI;FA;;;SY)", "S-1-5-18", dirRefuse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := judgeDirSDDL(tt.sddl, tt.self)
			if got != tt.want {
				t.Errorf("judgeDirSDDL(%q, %q) = %d (%s), want %d", tt.sddl, tt.self, got, why, tt.want)
			}
			if got != dirOK && why == "" {
				t.Error("no reason given")
			}
		})
	}
}
