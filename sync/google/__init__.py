"""The Google adapter: the People API client of one user's contact group (`people`), its batch
writes (`writes`), how each request is sent and retried (`calls`), how Google's answers are read
(`answers`), and the transport that sends a POST exactly once (`transport`)."""
