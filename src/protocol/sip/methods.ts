/**
 * The request methods the parser interns (RFC 3261 and its extensions), in the order the native
 * frame indexer numbers them: native/sip-index.c has the same list, and a module whose list differs
 * is not used (protocol/native-index.ts, acceptedIndexer).
 */
export const METHODS: readonly string[] = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'PRACK', 'UPDATE', 'INFO', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH'];
