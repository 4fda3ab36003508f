import { describe, expect, it } from 'vitest';
import { routeOf } from './route.ts';

describe('routeOf', () => {
  it.each([
    ['/', '/'],
    ['', '/'],
    ['/index.html', '/index.html'],
    ['/users/42', '/users/{id}'],
    ['/users/42/orders/7', '/users/{id}/orders/{id}'],
    ['/orders/0f8fad5b-d9cb-469f-a165-70867728950e', '/orders/{uuid}'],
    ['/blobs/9f86d081884c7d65', '/blobs/{hash}'],
    ['/s/AbC123xyz987QwE456rTy', '/s/{token}'],
    ['/api/v2/items', '/api/v2/items'],
    ['/helloworld.Greeter/SayHello', '/helloworld.Greeter/SayHello'],
    ['/a//b/', '/a//b/'],
  ])('%s -> %s', (path, route) => {
    expect(routeOf(path)).toBe(route);
  });
});
