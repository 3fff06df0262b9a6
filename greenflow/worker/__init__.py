"""Workers: what runs workflow code and activities (filled in by the next commit)."""
