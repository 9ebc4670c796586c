// Package config reads agent.toml (docs/configuration.md) into plain, validated structs the
// runtime uses; it carries no TOML tags out of the package.
//
// Parse reports every problem at once (errors.Join), each as an *Error that names the file,
// the line and the key: `agent.toml:14: instance.poll.interval: "5" is not a duration
// (e.g. "5m")`. Unknown keys are errors. Secret values (client_secret, signature_key,
// webhook_secret, password, callback header values) never appear in an error or a warning.
//
// Strings: `${NAME}` in any string value is replaced by the environment variable NAME (an
// unset one is an error naming the key and the variable); `$${` writes a literal `${`; any
// other `$` is kept as it is. Each secret may instead be given as `<key>_file = "path"`: the
// file's content with surrounding white space trimmed; giving both is an error. Relative
// paths (data_dir, ca_file, *_file) are read relative to the directory of the config file.
//
// [defaults] holds any of the instance sub-tables (auth, drive, poll, callback) plus tags
// and enabled, given once for all instances. An instance's own values win key by key; a
// secret and its _file form count as one key, and so do poll.interval and poll.schedule (an
// instance with its own schedule does not inherit the default interval). Callback headers
// merge by header name.
//
// Scope matching (Scope.Match) is described on Scope.
package config
