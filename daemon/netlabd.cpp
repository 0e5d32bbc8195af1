#include <cstdio>
int main() { std::fputs("netlabd: not implemented yet\n", stderr); return 1; }
