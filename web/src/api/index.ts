export * as api from './endpoints';
export { ApiError, setCsrfToken, setCsrfPending, getCsrfToken, setUnauthorizedListener, type Page } from './client';
export { keys } from './keys';
export { usePagedList } from './usePagedList';
export type * from './types';
export * from './queries';
