package safefile

import (
	"fmt"
	"strings"
)

// Well-known SIDs in SDDL's short form.
const (
	sidSystem = "SY" // NT AUTHORITY\SYSTEM, S-1-5-18
	sidAdmins = "BA" // BUILTIN\Administrators, S-1-5-32-544
)

// ProtectedDirSDDL is the security descriptor data_dir gets on Windows: a
// protected DACL (nothing inherited from %ProgramData%, whose DACL lets
// every user read) granting full control, inherited by every file and
// folder below, to SYSTEM, to Administrators and, when the agent runs as
// another account (e.g. a user running it in the foreground), to that
// account. The owner is left to Windows (the creating account or
// Administrators): setting another one needs a privilege.
func ProtectedDirSDDL(self string) string {
	s := "D:P(A;OICI;FA;;;" + sidSystem + ")(A;OICI;FA;;;" + sidAdmins + ")"
	if self = shortSID(self); self != "" && self != sidSystem && self != sidAdmins {
		s += "(A;OICI;FA;;;" + self + ")"
	}
	return s
}

// dirVerdict is what MkdirPrivate does with an existing folder.
type dirVerdict int

const (
	dirOK     dirVerdict = iota
	dirRepair            // trusted owner, DACL too open: set ProtectedDirSDDL
	dirRefuse            // owned by someone else, who could change any DACL back
)

// judgeDirSDDL decides on a folder from its security descriptor in SDDL
// (owner and DACL, as GetNamedSecurityInfo returns them): refuse when the
// owner is not SYSTEM, Administrators or self; repair when the DACL is
// missing, not protected (inherits), or allows anything to another SID.
// Deny entries never widen access and are ignored. why says what was found.
func judgeDirSDDL(sddl, self string) (v dirVerdict, why string) {
	parts := splitSDDL(sddl)
	trusted := func(sid string) bool {
		sid = shortSID(sid)
		return sid == sidSystem || sid == sidAdmins || (self != "" && sid == shortSID(self))
	}
	owner, ok := parts['O']
	if !ok || owner == "" {
		return dirRefuse, "has no owner this process can read"
	}
	if !trusted(owner) {
		return dirRefuse, fmt.Sprintf("is owned by %s, not by SYSTEM, Administrators or this account", owner)
	}
	dacl, ok := parts['D']
	if !ok || dacl == "" || strings.HasPrefix(dacl, "NO_ACCESS_CONTROL") {
		return dirRepair, "has no DACL (everyone has full access)"
	}
	flags, aces, _ := strings.Cut(dacl, "(")
	if !strings.Contains(flags, "P") {
		return dirRepair, "inherits permissions from its parent folder"
	}
	if aces != "" {
		aces = "(" + aces
	}
	for _, ace := range splitACEs(aces) {
		f := strings.Split(ace, ";")
		if len(f) < 6 {
			return dirRepair, fmt.Sprintf("has an entry this process cannot read (%s)", ace)
		}
		switch f[0] {
		case "D", "OD", "XD", "AU", "OU", "AL", "OL", "ML", "SP":
			continue // deny, audit, alarm, label, policy: grant nothing
		}
		if !trusted(f[5]) {
			return dirRepair, fmt.Sprintf("grants access to %s", f[5])
		}
	}
	return dirOK, ""
}

// splitSDDL returns the O:, G:, D: and S: components of an SDDL string.
func splitSDDL(s string) map[byte]string {
	out := map[byte]string{}
	depth, start := 0, -1
	var key byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && i+1 < len(s) && s[i+1] == ':' && strings.IndexByte("OGDS", c) >= 0:
			if start >= 0 {
				out[key] = s[start:i]
			}
			key, start = c, i+2
			i++
		}
	}
	if start >= 0 {
		out[key] = s[start:]
	}
	return out
}

// splitACEs returns the bodies of "(ace)(ace)...".
func splitACEs(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '(')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], ')')
		if j < 0 {
			return append(out, s[i+1:])
		}
		out = append(out, s[i+1:i+j])
		s = s[i+j+1:]
	}
}

// shortSID writes SYSTEM and Administrators in SDDL's short form, as
// Windows does in the strings it returns.
func shortSID(sid string) string {
	switch sid {
	case "S-1-5-18":
		return sidSystem
	case "S-1-5-32-544":
		return sidAdmins
	}
	return sid
}
