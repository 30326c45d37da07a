// Package httpapi is pykvd's HTTP listener: REST endpoints over the keys,
// a health check, Prometheus metrics, an OpenAPI document and its docs
// pages, served from the binary with no network access.
// Each key endpoint turns a request into one command of the command table
// (SET, GET, DEL, EXISTS) and the Reply into a status and a body; what a
// command means is never written here a second time, and this package
// must never grow command logic of its own.
//
// # Endpoints
//
//	POST   /put                JSON {"key","value","ttl_ms","nx","xx"} or form fields -> SET
//	GET    /get/{key}          the raw value                                          -> GET
//	DELETE /delete/{key}       {"deleted": n}                                         -> DEL
//	GET    /v1/keys/{key}      the raw value                                          -> GET
//	PUT    /v1/keys/{key}      body = raw value; ?ttl_ms=, ?nx=, ?xx=                 -> SET
//	DELETE /v1/keys/{key}      {"deleted": n}                                         -> DEL
//	HEAD   /v1/keys/{key}      200 when the key exists, 404 when not                  -> EXISTS
//	GET    /healthz            "ok", or 503 "unhealthy" (the reason: log, or a caller with the password)
//	GET    /metrics            Prometheus text exposition
//	GET    /openapi.json       the OpenAPI 3.0 document (openapi.json, embedded)
//	GET    /docs               Swagger UI over /openapi.json, "Try it out" included
//	GET    /docs/{asset}       Swagger UI's scripts, styles and icons (embedded by github.com/swaggest/swgui)
//	GET    /docs/curl          a page of the endpoints with curl examples (docs.html)
//
// A key in a path is percent-decoded, so any bytes can be a key: "/" is
// sent as %2F (or left as is: {key} takes the rest of the path), "." and
// ".." as %2E and %2E%2E. Values are bytes in both directions. The empty
// key, which Redis allows, is the prefix alone (/v1/keys/, /get/,
// /delete/), or "key": "" in /put; the mux redirects /v1/keys, and
// /v1/keys// (a "/" that should have been %2F), to it.
//
// # Errors
//
// An error is JSON, {"error": {"code": "ERR", "message": "..."}}. The code
// is the command table's error class (ERR, NOAUTH, WRONGPASS, READONLY)
// and its message Redis's text, or, for what only HTTP can say, NOTFOUND
// (404, a missing key) and CONFLICT (409, NX or XX prevented a write). The
// status follows the cause: 400 for bad input, 401 for authentication,
// 413 for a body or value over the limit, 415 for a body type /put does
// not read, 500 for an engine error, 503 when the log refuses writes or
// the engine is closed.
//
// The command table reports engine errors as text ("ERR pykv/segment:
// ..."), so the 500/503 split reads that text: the table's own errors
// never start with "pykv/", and a failed log says it refuses writes.
//
// # Authentication
//
// When the command table has a password, every key endpoint needs
// "Authorization: Bearer <password>"; /healthz, /metrics, /openapi.json
// and the /docs pages need none (a browser opening /docs sends no token;
// Swagger UI's Authorize then takes the password for "Try it out"). The
// password is checked by running AUTH through a fresh Session, so the
// comparison is the table's (constant time) and there is no second copy
// of the rule.
//
// # Limits
//
// A body is read through http.MaxBytesReader: PUT /v1/keys/{key} takes at
// most the engine's max value size, /put twice that plus room for a key
// (JSON escapes and base64 make a value longer than its bytes). A declared
// Content-Length over the limit is refused with 413 before any of the body
// is read. The http.Server's timeouts bound slow clients; see the
// constants in server.go.
package httpapi
