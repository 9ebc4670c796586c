package store

// pageSize is the bbolt page size of a new store file, and of the copy a
// compaction writes (so an older file takes it at its next compaction; a
// file otherwise keeps the page size it was created with). A commit writes
// each dirty page with a pwrite of its own: with 4 KiB pages one incremental
// round of 50,000 new files wrote about 25,000 pages, and system calls were
// a sixth of the agent's CPU. 16 KiB pages took about a tenth off the CPU per
// event of that round (BenchmarkEndToEnd) for about 1 MiB more resident file
// pages in an idle agent (BenchmarkIdle: 22.4 MiB against 21.6 MiB).
const pageSize = 16 << 10
