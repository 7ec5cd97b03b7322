// Package migrations embeds the numbered SQL migrations that `migrate` applies (goose format: each file
// has an Up and a Down section). Add a change as the next number; never edit an applied file.
package migrations

import "embed"

// FS holds every *.sql file of this folder.
//
//go:embed *.sql
var FS embed.FS
