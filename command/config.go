package command

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pykv/pykv/internal/redisfmt"
)

// Settings is the daemon's configuration as CONFIG GET reads it and CONFIG
// SET changes it, by pykv's own parameter names (pykvd's flag names:
// "max-clients", "cache-bytes"). Config.Settings holds it; without it
// CONFIG SET knows no parameter.
type Settings interface {
	// ConfigParams lists every parameter with its value now, and whether
	// CONFIG SET may change it (a running pykvd applies it).
	ConfigParams() []ConfigParam
	// ConfigSet sets every pair or, on an error, none. A bad value's
	// error is a *SettingError naming its parameter.
	ConfigSet(pairs []ConfigParam) error
}

// ConfigParam is one parameter of Settings: its name, its value written
// as pykv.toml and the flag write it, and whether CONFIG SET changes it.
type ConfigParam struct {
	Name, Value string
	Settable    bool
}

// SettingError is a value Settings.ConfigSet refused: Name is the
// parameter, Reason why, as CONFIG SET's error shows it.
type SettingError struct{ Name, Reason string }

func (e *SettingError) Error() string { return e.Name + ": " + e.Reason }

// redisLogLevels are Redis's loglevel values and the pykv log.level each
// sets: Redis's verbose, between debug and notice, has no pykv level of
// its own and logs as debug.
var redisLogLevels = []struct{ redis, pykv string }{
	{"debug", "debug"}, {"verbose", "debug"}, {"notice", "info"}, {"warning", "warn"},
}

// redisLogLevel is CONFIG GET loglevel's value for pykv's level: error,
// which Redis has not, shows as warning, the nearest.
func redisLogLevel(level string) string {
	switch level {
	case "debug":
		return "debug"
	case "info":
		return "notice"
	}
	return "warning"
}

// redisParam is a Redis 7 parameter CONFIG SET maps onto a pykv one.
type redisParam struct {
	name, pykv string
	// value checks and translates a Redis value into pykv's, or returns
	// Redis's reason for refusing it.
	value func(string) (string, string)
}

// redisParams are the Redis 7 parameters CONFIG SET changes, each the
// pykv parameter of the same meaning.
var redisParams = []redisParam{
	{"requirepass", "password", func(v string) (string, string) { return v, "" }},
	{"maxclients", "max-clients", func(v string) (string, string) {
		n, ok := redisfmt.ParseInt([]byte(v))
		if !ok {
			return "", "argument couldn't be parsed into an integer"
		}
		if n < 1 || n > 1<<32-1 {
			return "", "argument must be between 1 and 4294967295 inclusive"
		}
		return strconv.FormatInt(n, 10), ""
	}},
	{"loglevel", "log-level", func(v string) (string, string) {
		for _, l := range redisLogLevels {
			if strings.EqualFold(v, l.redis) {
				return l.pykv, ""
			}
		}
		return "", "argument(s) must be one of the following: debug, verbose, notice, warning"
	}},
}

// configSetFailed is Redis's error for a CONFIG SET refused because of
// the parameter name.
func configSetFailed(name, reason string) Reply {
	return Err(oneLine("CONFIG SET failed (possibly related to argument '" + name + "') - " + reason))
}

// CONFIG SET parameter value [parameter value ...]: Redis 7's semantics.
// Every parameter is looked up first (the first unknown one is the error,
// then a parameter that cannot change, then one named twice, its Redis and
// pykv names counting as one), then every value is checked, and only then
// is anything set, all at once: a failed CONFIG SET changes nothing. The
// change lasts until the daemon stops; pykv.toml is not rewritten.
func (t *Table) configSet(_ *Session, argv [][]byte) Reply {
	if len(argv)%2 != 0 {
		return errSyntax
	}
	var params []ConfigParam
	if t.cfg.Settings != nil {
		params = t.cfg.Settings.ConfigParams()
	}
	picks := make([]configPick, 0, (len(argv)-2)/2)
	var fault Reply // the first parameter at fault, as Redis reports it
	for i := 2; i < len(argv); i += 2 {
		name := string(argv[i])
		p := configPick{typed: name, value: string(argv[i+1])}
		lookup := strings.ToLower(name)
		if j := slices.IndexFunc(redisParams, func(r redisParam) bool { return r.name == lookup }); j >= 0 {
			p.redis = &redisParams[j]
			lookup = p.redis.pykv
		}
		j := slices.IndexFunc(params, func(c ConfigParam) bool { return c.Name == lookup })
		known := j >= 0 || p.redis != nil ||
			slices.ContainsFunc(t.configParams(), func(c configParam) bool { return c.name == lookup })
		switch {
		case fault.Kind != 0:
		case !known:
			fault = Err(oneLine("Unknown option or number of arguments for CONFIG SET - '" + name + "'"))
		case j < 0 || !params[j].Settable:
			// a parameter CONFIG GET shows that this daemon cannot change
			fault = configSetFailed(name, "can't set immutable config")
		case slices.ContainsFunc(picks, func(q configPick) bool { return q.param.Name == params[j].Name }):
			fault = configSetFailed(name, "duplicate parameter")
		default:
			p.param = params[j]
			picks = append(picks, p)
		}
	}
	if fault.Kind != 0 {
		return fault
	}
	pairs := make([]ConfigParam, len(picks))
	for i, p := range picks {
		v := p.value
		if p.redis != nil {
			var why string
			if v, why = p.redis.value(v); why != "" {
				return configSetFailed(p.redis.name, why)
			}
		}
		pairs[i] = ConfigParam{Name: p.param.Name, Value: v}
	}
	if err := t.cfg.Settings.ConfigSet(pairs); err != nil {
		name, why := "", err.Error()
		if se, ok := err.(*SettingError); ok {
			name, why = se.Name, se.Reason
			for _, p := range picks {
				if p.param.Name == se.Name {
					name = p.canonical()
				}
			}
		}
		return configSetFailed(name, why)
	}
	return OK
}

// configPick is one parameter of a CONFIG SET: the name as the client
// wrote it, its Redis mapping if it is a Redis name, its pykv parameter and
// the value given.
type configPick struct {
	typed string
	redis *redisParam
	param ConfigParam
	value string
}

// canonical is the name CONFIG SET's errors give a parameter: Redis's
// (lower case) when the client used it, else pykv's.
func (p configPick) canonical() string {
	if p.redis != nil {
		return p.redis.name
	}
	return p.param.Name
}

// settingsParams are the parameters CONFIG GET shows of Settings: pykv's
// own, and the Redis ones CONFIG SET maps onto them.
func (t *Table) settingsParams() []configParam {
	if t.cfg.Settings == nil {
		return nil
	}
	var out []configParam
	for _, p := range t.cfg.Settings.ConfigParams() {
		out = append(out, configParam{p.Name, p.Value})
		switch p.Name {
		case "password":
			out = append(out, configParam{"requirepass", p.Value})
		case "log-level":
			out = append(out, configParam{"loglevel", redisLogLevel(p.Value)})
		}
	}
	return out
}
