package graphtest

import (
	"encoding/base64"
	"fmt"
	"time"
)

// Entry is a snapshot of one live drive item, for comparisons in tests.
type Entry struct {
	ID, ParentID, Name string // ParentID is "" for the root
	Path               string // "/" for the root, "/a/b" below it
	Folder, Root       bool
	Size               int64 // files: content length; folders: total of descendants
	ETag, CTag         string
	QuickXorHash       string // base64; "" for folders
	Created, Modified  time.Time
}

// The mutation methods below change the drive as a user would. Each one is a
// single change of the drive: it increments the drive version, and every item
// it touches gets a new eTag. They panic on impossible requests (unknown or
// deleted ids, a name already taken in the folder, moving a folder into
// itself), as those are mistakes in the test.

// CreateFolder creates a folder named name in the folder parentID and returns its id.
func (s *Server) CreateFolder(parentID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.tree.liveFolder("CreateFolder", parentID)
	name = checkName("CreateFolder", name)
	s.tree.checkFree("CreateFolder", p, name, none)
	return s.tree.id(s.tree.add(p, name, true, 0, [20]byte{}, s.nowMilli()))
}

// CreateFile creates a file with the given content in the folder parentID and returns its id.
func (s *Server) CreateFile(parentID, name string, content []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.tree.liveFolder("CreateFile", parentID)
	name = checkName("CreateFile", name)
	s.tree.checkFree("CreateFile", p, name, none)
	return s.tree.id(s.tree.add(p, name, false, int64(len(content)), quickXorHash(content), s.nowMilli()))
}

// Modify replaces a file's content: size, hash, eTag and cTag change.
func (s *Server) Modify(id string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.tree.liveIndex("Modify", id)
	if s.tree.nodes[i].folder {
		panic(fmt.Sprintf("graphtest: Modify: item %q is a folder", id))
	}
	s.tree.modify(i, int64(len(content)), quickXorHash(content), s.nowMilli())
}

// Touch changes an item's metadata only: eTag and lastModifiedDateTime change,
// content, cTag and hash stay.
func (s *Server) Touch(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tree.touch(s.tree.liveIndex("Touch", id), s.nowMilli())
}

// Rename gives an item a new name in the same folder.
func (s *Server) Rename(id, newName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.tree.liveIndex("Rename", id)
	s.relocate("Rename", i, s.tree.nodes[i].parent, newName)
}

// Move moves an item into the folder newParentID, keeping its name.
func (s *Server) Move(id, newParentID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.tree.liveIndex("Move", id)
	s.relocate("Move", i, s.tree.liveFolder("Move", newParentID), s.tree.nodes[i].name)
}

// MoveRename moves an item into newParentID under newName in a single change.
func (s *Server) MoveRename(id, newParentID, newName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.tree.liveIndex("MoveRename", id)
	s.relocate("MoveRename", i, s.tree.liveFolder("MoveRename", newParentID), newName)
}

func (s *Server) relocate(op string, i, parent int32, name string) {
	if i == 0 {
		panic("graphtest: " + op + ": the root cannot move")
	}
	name = checkName(op, name)
	if s.tree.isAncestor(i, parent) {
		panic(fmt.Sprintf("graphtest: %s: cannot move %q into itself", op, s.tree.id(i)))
	}
	s.tree.checkFree(op, parent, name, i)
	s.tree.relocate(i, parent, name, s.nowMilli())
}

// Delete deletes an item; deleting a folder deletes everything under it.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.tree.liveIndex("Delete", id)
	if i == 0 {
		panic("graphtest: Delete: the root cannot be deleted")
	}
	s.tree.remove(i, s.nowMilli())
}

// Root returns the id of the drive's root item.
func (s *Server) Root() string { return s.tree.id(0) }

// DriveID returns the drive id.
func (s *Server) DriveID() string { return s.driveID }

// Version returns the drive's current version: the number of changes so far
// (the root's creation is version 1). Delta tokens encode a version.
func (s *Server) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tree.head
}

// Len returns the number of live items, the root included.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tree.live
}

// Lookup resolves a path such as "/a/b.txt" (case-insensitive, "/" is the root)
// to a live item id.
func (s *Server) Lookup(path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.tree.lookup(path)
	if !ok {
		return "", false
	}
	return s.tree.id(i), true
}

// Item returns a snapshot of a live item.
func (s *Server) Item(id string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.tree.index(id)
	if !ok || s.tree.nodes[i].deleted {
		return Entry{}, false
	}
	return s.entry(i, true), true
}

// Tree returns a snapshot of every live item, the root included, by id.
func (s *Server) Tree() map[string]Entry {
	m := make(map[string]Entry)
	s.Walk(func(e Entry) bool { m[e.ID] = e; return true })
	return m
}

// Paths returns the path of every live item, the root ("/") included, mapped to its id.
func (s *Server) Paths() map[string]string {
	m := make(map[string]string)
	s.Walk(func(e Entry) bool { m[e.Path] = e.ID; return true })
	return m
}

// Walk calls fn for every live item in creation order until fn returns false.
// The drive is locked during the walk: fn must not call the Server.
func (s *Server) Walk(fn func(Entry) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.tree.nodes {
		if s.tree.nodes[i].deleted {
			continue
		}
		if !fn(s.entry(int32(i), true)) {
			return
		}
	}
}

func (s *Server) entry(i int32, withPath bool) Entry {
	n := &s.tree.nodes[i]
	e := Entry{
		ID: s.tree.id(i), Name: n.name, Folder: n.folder, Root: i == 0, Size: n.size,
		ETag: s.etag(i, n), CTag: s.ctag(i, n),
		Created: time.UnixMilli(n.created).UTC(), Modified: time.UnixMilli(n.modified).UTC(),
	}
	if n.parent != none {
		e.ParentID = s.tree.id(n.parent)
	}
	if !n.folder {
		e.QuickXorHash = base64.StdEncoding.EncodeToString(n.hash[:])
	}
	if withPath {
		e.Path = s.tree.path(i)
	}
	return e
}

// etag is "{GUID},N" where the GUID is fixed per item and N counts its changes.
func (s *Server) etag(i int32, n *node) string {
	return fmt.Sprintf("\"{%s},%d\"", s.guid(i), n.etag)
}

// ctag is "c:{GUID},N" where N counts content changes (for folders: of the subtree).
func (s *Server) ctag(i int32, n *node) string {
	return fmt.Sprintf("\"c:{%s},%d\"", s.guid(i), n.ctag)
}

func (s *Server) guid(i int32) string {
	return fmt.Sprintf("%s-%04X-%04X-%012X", s.guidPrefix, uint32(i)>>16, uint32(i)&0xffff, (uint64(i)*2654435761)&0xFFFFFFFFFFFF)
}
