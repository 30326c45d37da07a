//go:build !unix

package command

// infoCPU reports nothing where getrusage is not available.
func (t *Table) infoCPU(*infoWriter, *infoCtx) {}
