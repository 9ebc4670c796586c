package graphtest

import "encoding/binary"

// quickXorHash computes OneDrive's QuickXorHash of b: every byte is XORed
// into a 160-bit ring at bit offset 11*i (mod 160), then the length, as a
// little-endian 64-bit number, is XORed into the last 8 bytes.
func quickXorHash(b []byte) [20]byte {
	const width, shift = 160, 11
	var bits [20]byte
	for i, c := range b {
		if c == 0 {
			continue
		}
		off := (i * shift) % width
		for k := 0; k < 8; k++ {
			if c&(1<<k) != 0 {
				p := (off + k) % width
				bits[p/8] ^= 1 << (p % 8)
			}
		}
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
	for k := 0; k < 8; k++ {
		bits[12+k] ^= n[k]
	}
	return bits
}
