// Command gobcc runs BCC programs from the shell.
package main

func main() {}
