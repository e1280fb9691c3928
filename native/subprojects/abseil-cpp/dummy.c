/* octobridge shim: placeholder so link_whole of the non-default libmediasoup-worker target has a library. */
int octobridge_shim_dummy(void) { return 0; }
