package lessons

import "context"

func stepRecordAndSteal(ctx context.Context, e *Env) error { return nil }
