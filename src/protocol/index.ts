export * from './constants.ts';
export * from './errors.ts';
export * from './header.ts';
export * from './frame-encoder.ts';
export * from './frame-decoder.ts';
export * from './chat.ts';
