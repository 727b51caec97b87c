export * from './keys';
export * from './streams';
export * from './codecs';
export * from './merge-patch';
export * from './document-limits';
export * from './durability';
