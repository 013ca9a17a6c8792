// The few ZIP and Unix constants the archive code reads itself (yazl and yauzl handle the records).

export const METHOD_STORE = 0;
export const METHOD_DEFLATE = 8;

/** "Version made by" host system in the high byte: Unix, whose external attributes carry a mode. */
export const MADE_BY_UNIX = 3;

/** Unix file type bits. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
