package command

import (
	"slices"
	"strconv"
	"strings"
	"time"

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
	// get, when set, writes pykv's value as Redis does for CONFIG GET;
	// else the value is shown as it is.
	get func(string) string
}

// redisInt is the value check of a Redis integer parameter bounded by
// lo and hi, with Redis's errors.
func redisInt(lo, hi int64, unit string) func(string) (string, string) {
	return func(v string) (string, string) {
		n, ok := redisfmt.ParseInt([]byte(v))
		if !ok {
			return "", "argument couldn't be parsed into an integer"
		}
		if n < lo || n > hi {
			return "", "argument must be between " + strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10) + " inclusive"
		}
		return strconv.FormatInt(n, 10) + unit, ""
	}
}

// seconds writes a pykv duration ("10s", "1m30s") as Redis's whole
// seconds; one that does not parse is shown as it is.
func seconds(d string) string {
	v, err := time.ParseDuration(d)
	if err != nil {
		return d
	}
	return strconv.FormatInt(int64(v/time.Second), 10)
}

// redisParams are the Redis 7 parameters CONFIG SET changes, each the
// pykv parameter of the same meaning.
var redisParams = []redisParam{
	{name: "requirepass", pykv: "password", value: func(v string) (string, string) { return v, "" }},
	{name: "maxclients", pykv: "max-clients", value: redisInt(1, 1<<32-1, "")},
	// Redis's timeout is pykv's idle_timeout, in whole seconds.
	{name: "timeout", pykv: "idle-timeout", value: redisInt(0, 1<<31-1, "s"), get: seconds},
	{name: "loglevel", pykv: "log-level", value: func(v string) (string, string) {
		for _, l := range redisLogLevels {
			if strings.EqualFold(v, l.redis) {
				return l.pykv, ""
			}
		}
		return "", "argument(s) must be one of the following: debug, verbose, notice, warning"
	}, get: redisLogLevel},
	// Redis's names and pykv's flags' are the same here; Redis's values
	// (whole seconds for the lag) are taken and shown.
	{name: "min-replicas-to-write", pykv: "min-replicas-to-write", value: redisInt(0, 1<<31-1, "")},
	{name: "min-replicas-max-lag", pykv: "min-replicas-max-lag", value: redisInt(0, 1<<31-1, "s"), get: seconds},
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
	var fault *Reply // the first parameter at fault, as Redis reports it
	set := func(r Reply) { fault = &r }
	for i := 2; i < len(argv); i += 2 {
		name := string(argv[i])
		p := configPick{value: string(argv[i+1])}
		lookup := strings.ToLower(name)
		if j := slices.IndexFunc(redisParams, func(r redisParam) bool { return r.name == lookup }); j >= 0 {
			p.redis = &redisParams[j]
			lookup = p.redis.pykv
		}
		j := slices.IndexFunc(params, func(c ConfigParam) bool { return c.Name == lookup })
		known := j >= 0 || p.redis != nil ||
			slices.ContainsFunc(t.configParams(), func(c configParam) bool { return c.name == lookup })
		switch {
		case fault != nil:
		case !known:
			set(Err(oneLine("Unknown option or number of arguments for CONFIG SET - '" + name + "'")))
		case j < 0 || !params[j].Settable:
			// a parameter CONFIG GET shows that this daemon cannot change
			set(configSetFailed(name, "can't set immutable config"))
		case slices.ContainsFunc(picks, func(q configPick) bool { return q.param.Name == params[j].Name }):
			set(configSetFailed(name, "duplicate parameter"))
		default:
			p.param = params[j]
			picks = append(picks, p)
		}
	}
	if fault != nil {
		return *fault
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

// configPick is one parameter of a CONFIG SET: its Redis mapping if the
// client named it by its Redis name, its pykv parameter and the value
// given.
type configPick struct {
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

// settingsParams are the parameters CONFIG GET shows of Settings beyond
// those of configParams: pykv's own, and the Redis ones CONFIG SET maps
// onto them.
func (t *Table) settingsParams(have []configParam) []configParam {
	if t.cfg.Settings == nil {
		return nil
	}
	var out []configParam
	for _, p := range t.cfg.Settings.ConfigParams() {
		shown := false
		for _, r := range redisParams {
			if r.pykv != p.Name {
				continue
			}
			v := p.Value
			if r.get != nil {
				v = r.get(v)
			}
			out = append(out, configParam{r.name, v})
			shown = shown || r.name == p.Name
		}
		if !shown {
			out = append(out, configParam{p.Name, p.Value})
		}
	}
	return slices.DeleteFunc(out, func(p configParam) bool {
		return slices.ContainsFunc(have, func(h configParam) bool { return h.name == p.name })
	})
}
