package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenDocsCommand is the hidden command "make install" and "make deb" use
// to write man pages and shell completions, generated from the commands
// themselves so they cannot drift from --help.
func newGenDocsCommand() *cobra.Command {
	var manDir, completionDir string
	cmd := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write man pages and shell completions (for packaging)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			if manDir != "" {
				if err := os.MkdirAll(manDir, 0o755); err != nil {
					return err
				}
				header := &doc.GenManHeader{Title: "GOBCC", Section: "1", Source: "gobcc", Manual: "gobcc manual"}
				root.DisableAutoGenTag = true
				if err := doc.GenManTree(root, header, manDir); err != nil {
					return fmt.Errorf("man pages: %w", err)
				}
			}
			if completionDir != "" {
				for _, shell := range []struct {
					dir, file string
					gen       func(string) error
				}{
					{"bash", "gobcc", func(p string) error { return root.GenBashCompletionFileV2(p, true) }},
					{"zsh", "_gobcc", root.GenZshCompletionFile},
					{"fish", "gobcc.fish", func(p string) error { return root.GenFishCompletionFile(p, true) }},
				} {
					dir := filepath.Join(completionDir, shell.dir)
					if err := os.MkdirAll(dir, 0o755); err != nil {
						return err
					}
					if err := shell.gen(filepath.Join(dir, shell.file)); err != nil {
						return fmt.Errorf("%s completion: %w", shell.dir, err)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manDir, "man", "", "directory for man pages (section 1)")
	cmd.Flags().StringVar(&completionDir, "completions", "", "directory for bash/, zsh/ and fish/ completions")
	return cmd
}
