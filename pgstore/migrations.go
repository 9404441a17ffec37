package pgstore

import (
	"embed"
	"io/fs"
)

//go:embed migration/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded schema migrations, named NNN_name.sql.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migration")
	if err != nil { // the directory is embedded above, so this cannot happen
		panic(err)
	}
	return sub
}
