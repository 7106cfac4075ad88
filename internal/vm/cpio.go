package vm

import (
	"fmt"
	"io"
	"io/fs"
)

// cpioWriter writes the "newc" (SVR4, no CRC) cpio format that the kernel
// unpacks as an initramfs. Only what an initramfs needs: regular files,
// directories and symbolic links, all owned by root.
type cpioWriter struct {
	w     io.Writer
	ino   uint32
	wrote int64
	err   error
}

func newCPIOWriter(w io.Writer) *cpioWriter { return &cpioWriter{w: w, ino: 1} }

const (
	cpioModeDir     = 0o040000
	cpioModeFile    = 0o100000
	cpioModeSymlink = 0o120000
	cpioModeChar    = 0o020000
)

// Dir adds a directory.
func (c *cpioWriter) Dir(name string, perm fs.FileMode) error {
	return c.entry(name, cpioModeDir|uint32(perm.Perm()), nil)
}

// File adds a regular file with the given content.
func (c *cpioWriter) File(name string, perm fs.FileMode, content []byte) error {
	return c.entry(name, cpioModeFile|uint32(perm.Perm()), content)
}

// Symlink adds a symbolic link name pointing at target.
func (c *cpioWriter) Symlink(name, target string) error {
	return c.entry(name, cpioModeSymlink|0o777, []byte(target))
}

// CharDevice adds a character device node, such as /dev/console, which
// the kernel opens for /init's standard streams before any devtmpfs exists.
func (c *cpioWriter) CharDevice(name string, perm fs.FileMode, major, minor uint32) error {
	return c.entryDev(name, cpioModeChar|uint32(perm.Perm()), nil, major, minor)
}

// Close writes the trailer that ends the archive. It does not close the
// underlying writer.
func (c *cpioWriter) Close() error {
	return c.entry("TRAILER!!!", 0, nil)
}

func (c *cpioWriter) entry(name string, mode uint32, data []byte) error {
	return c.entryDev(name, mode, data, 0, 0)
}

func (c *cpioWriter) entryDev(name string, mode uint32, data []byte, rdevMajor, rdevMinor uint32) error {
	if c.err != nil {
		return c.err
	}
	nlink := 1
	if mode&0o170000 == cpioModeDir {
		nlink = 2
	}
	ino := c.ino
	c.ino++
	if name == "TRAILER!!!" {
		ino, nlink = 0, 1
	}
	// 13 fields of 8 hex digits after the magic; namesize counts the NUL.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(name + "\x00"))
	c.pad()
	c.write(data)
	c.pad()
	return c.err
}

func (c *cpioWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.wrote += int64(n)
	if err != nil {
		c.err = fmt.Errorf("write cpio archive: %w", err)
	}
}

// pad aligns the stream to 4 bytes, as newc requires after the header+name
// and after the data.
func (c *cpioWriter) pad() {
	if r := c.wrote % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}
