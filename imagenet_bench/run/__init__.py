"""The resumable, shardable prediction loop shared by every backend."""
