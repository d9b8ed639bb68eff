// Start-up: a command that does nothing. Measures instantiate + run + exit.
int main(void) { return 0; }
