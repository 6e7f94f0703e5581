/**
 * @cairn/core/testing: helpers for adapter authors, above all the Store conformance suite.
 */
export {};
